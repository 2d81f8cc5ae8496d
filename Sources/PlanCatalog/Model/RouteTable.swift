/// Maps the requests of the product's public API to the capability each needs,
/// so that a gateway can verify a key by method and path.
///
/// The most specific pattern wins: `GET /api/links/info` is matched by
/// `/api/links/info` before `/api/links/{linkId}`. A `HEAD` request with no
/// route of its own needs what the same `GET` needs.
///
/// ```swift
/// catalog.routes.capability(method: "GET", path: "/api/links/abc?limit=5") // linksRead
/// ```
public struct RouteTable: Sendable, Hashable {
    /// The routes in catalog order.
    public let routes: [Route]
    /// Per method, the routes that serve it, most specific first, so the
    /// first match is the answer.
    private let byMethod: [HTTPMethod: [Route]]

    public init(routes: [Route]) {
        self.routes = routes
        var byMethod: [HTTPMethod: [Route]] = [:]
        for route in routes {
            for method in route.methods {
                byMethod[method, default: []].append(route)
            }
        }
        for method in byMethod.keys {
            // A stable sort keeps catalog order between equally specific routes,
            // which the loader only allows when their methods differ.
            byMethod[method] = byMethod[method]!.enumerated().sorted { lhs, rhs in
                if RoutePattern.isMoreSpecific(lhs.element.pattern, than: rhs.element.pattern) { return true }
                if RoutePattern.isMoreSpecific(rhs.element.pattern, than: lhs.element.pattern) { return false }
                return lhs.offset < rhs.offset
            }.map(\.element)
        }
        self.byMethod = byMethod
    }

    public var isEmpty: Bool { routes.isEmpty }

    /// The route a request is served by, or `nil` when none matches (or the
    /// method is unknown, or the path is ambiguous).
    public func route(method: String, path: String) -> Route? {
        guard let method = HTTPMethod(token: method), let segments = RequestPath.segments(of: path) else {
            return nil
        }
        if let route = byMethod[method]?.first(where: { $0.pattern.matches(segments) }) {
            return route
        }
        if method == .head {
            return byMethod[.get]?.first { $0.pattern.matches(segments) }
        }
        return nil
    }

    /// The capability a request needs, or `nil` when no route serves it.
    public func capability(method: String, path: String) -> CapabilityID? {
        route(method: method, path: path)?.capability
    }
}

import PlanCatalog
import Testing

@Suite("Route table")
struct RouteTableTests {
    func table(_ routes: (String, String, CapabilityID)...) throws -> RouteTable {
        RouteTable(routes: try routes.map { methods, path, capability in
            Route(
                methods: methods.split(separator: " ").compactMap { HTTPMethod(token: $0) },
                pattern: try RoutePattern(parsing: path),
                capability: capability)
        })
    }

    @Test func mostSpecificPatternWinsWhateverTheCatalogOrder() throws {
        let routes = try table(
            ("GET", "/v1/**", "anything"),
            ("GET", "/v1/items/{id}", "item"),
            ("GET", "/v1/items/count", "count"),
            ("GET", "/v1/{section}/count", "sectionCount"))
        #expect(routes.capability(method: "GET", path: "/v1/items/count") == "count")
        #expect(routes.capability(method: "GET", path: "/v1/items/42") == "item")
        #expect(routes.capability(method: "GET", path: "/v1/orders/count") == "sectionCount")
        #expect(routes.capability(method: "GET", path: "/v1/orders/42/lines") == "anything")
        #expect(routes.capability(method: "GET", path: "/v1") == "anything")
    }

    @Test func headFallsBackToGetOnlyWithoutARouteOfItsOwn() throws {
        let routes = try table(("GET", "/items", "read"), ("HEAD", "/probe", "probe"))
        #expect(routes.capability(method: "HEAD", path: "/items") == "read")
        #expect(routes.capability(method: "HEAD", path: "/probe") == "probe")
        #expect(routes.capability(method: "GET", path: "/probe") == nil)
    }

    @Test func queryFragmentAndRepeatedSlashesDoNotChangeTheRoute() throws {
        let routes = try table(("GET", "/items/{id}", "read"))
        #expect(routes.capability(method: "GET", path: "/items/7?expand=true#top") == "read")
        #expect(routes.capability(method: "GET", path: "//items//7/") == "read")
    }

    @Test func literalSegmentsAreCaseSensitive() throws {
        let routes = try table(("GET", "/items", "read"))
        #expect(routes.capability(method: "GET", path: "/Items") == nil)
    }

    /// A path is split and compared as bytes, as the product's router reads
    /// it. Read as Swift's characters, a combining mark after a `/` joined
    /// two segments into one (`/v1/items/\u{301}` matched `/v1/{section}`,
    /// where the router serves `/v1/items/{id}`), and KELVIN SIGN passed
    /// for a literal's `K`.
    @Test func aPathIsReadAsTheRouterReadsItsBytes() throws {
        let routes = try table(
            ("GET", "/v1/{section}", "section"), ("GET", "/v1/items/{id}", "item"), ("GET", "/v1/apiKeys", "keys"))
        #expect(routes.capability(method: "GET", path: "/v1/items/\u{301}") == "item")
        #expect(routes.capability(method: "GET", path: "/v1/items/7?\u{301}/x") == "item")
        #expect(routes.capability(method: "GET", path: "/v1/api\u{212A}eys") == "section")
        #expect(routes.capability(method: "GET", path: "/v1/apiKeys") == "keys")
        #expect(routes.capability(method: "get", path: "/v1/apiKeys") == "keys")
        // LONG S upper-cases to S: a method in it is no method.
        #expect(routes.capability(method: "po\u{17F}t", path: "/v1/apiKeys") == nil)
        #expect(HTTPMethod(token: "po\u{17F}t") == nil && HTTPMethod(token: "delete") == .delete)
    }

    @Test(arguments: ["/a/./b", "/a/../b", "/a/%2E%2E/b", "/a/b%2fc", "/a\\b", "/a/%5C",
                      "/a/b%2f\u{301}c", "/a\\\u{301}b", "/a/%2e\u{301}"])
    func ambiguousPathsMatchNothing(path: String) throws {
        let routes = try table(("GET", "/a/**", "read"))
        #expect(routes.capability(method: "GET", path: path) == nil)
    }

    @Test(arguments: [
        ("items", "must start with '/'"),
        ("/items/**/x", "'**' may only be the last segment"),
        ("/items/{}", "is not a parameter"),
        ("/items/{id", "is not a parameter"),
        ("/items/x{id}", "is not a parameter"),
        ("/items/x*", "mixes a literal"),
        ("/items/*", "mixes a literal"),
        ("/items/..", "dot or escaped segment"),
    ])
    func badPatternsAreRefusedWithAReason(pattern: String, reason: String) {
        #expect {
            try RoutePattern(parsing: pattern)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func patternsPrintAsWritten() throws {
        #expect(try RoutePattern(parsing: "/api/links/{linkId}/**").description == "/api/links/{linkId}/**")
    }
}

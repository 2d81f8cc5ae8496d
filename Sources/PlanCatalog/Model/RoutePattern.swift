/// A path pattern of the route table, such as `/api/links/{linkId}`.
///
/// Segments are separated by `/`. Each is a literal, a `{name}` that matches
/// any one segment, or, last only, `**` that matches whatever follows
/// (nothing included).
public struct RoutePattern: Sendable, Hashable, CustomStringConvertible {
    public enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(String)
        case rest
    }

    public let segments: [Segment]

    /// Parses a pattern, or throws a ``RoutePattern/SyntaxError`` saying what is wrong.
    public init(parsing text: String) throws(SyntaxError) {
        guard text.hasPrefix("/") else { throw SyntaxError("must start with '/'") }
        let parts = text.split(separator: "/", omittingEmptySubsequences: true)
        var segments: [Segment] = []
        for (index, part) in parts.enumerated() {
            if part == "**" {
                guard index == parts.count - 1 else { throw SyntaxError("'**' may only be the last segment") }
                segments.append(.rest)
            } else if part.hasPrefix("{") || part.hasSuffix("}") {
                let name = part.dropFirst().dropLast()
                guard part.hasPrefix("{"), part.hasSuffix("}"), !name.isEmpty,
                    name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
                else { throw SyntaxError("'\(part)' is not a parameter; write '{name}' with letters, digits or '_'") }
                segments.append(.parameter(String(name)))
            } else if part.contains(where: { "{}*".contains($0) }) {
                throw SyntaxError("'\(part)' mixes a literal with '{', '}' or '*'")
            } else if RequestPath.isAmbiguous(part) {
                throw SyntaxError("'\(part)' is a dot or escaped segment, which no request path can match")
            } else {
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
    }

    public var description: String {
        "/" + segments.map { segment in
            switch segment {
            case .literal(let text): text
            case .parameter(let name): "{\(name)}"
            case .rest: "**"
            }
        }.joined(separator: "/")
    }

    /// Two patterns with the same shape match the same paths, whatever their
    /// parameters are called.
    var shape: String {
        "/" + segments.map { segment in
            switch segment {
            case .literal(let text): text
            case .parameter: "{}"
            case .rest: "**"
            }
        }.joined(separator: "/")
    }

    /// Orders patterns so the most specific comes first: segment by segment,
    /// a literal beats a parameter, which beats `**`.
    static func isMoreSpecific(_ lhs: RoutePattern, than rhs: RoutePattern) -> Bool {
        func rank(_ segment: Segment) -> Int {
            switch segment {
            case .literal: 2
            case .parameter: 1
            case .rest: 0
            }
        }
        for (left, right) in zip(lhs.segments, rhs.segments) where rank(left) != rank(right) {
            return rank(left) > rank(right)
        }
        return lhs.segments.count > rhs.segments.count
    }

    func matches(_ path: [Substring]) -> Bool {
        var index = path.startIndex
        for segment in segments {
            switch segment {
            case .rest:
                return true
            case .parameter:
                guard index < path.endIndex else { return false }
            case .literal(let text):
                // Bytes, as the router compares them (see RequestPath).
                guard index < path.endIndex, path[index].utf8.elementsEqual(text.utf8) else { return false }
            }
            index += 1
        }
        return index == path.endIndex
    }

    /// What is wrong with a pattern, in words for the catalog's author.
    public struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String

        init(_ description: String) {
            self.description = description
        }
    }
}

/// The path of a request as the route table reads it.
enum RequestPath {
    /// Splits a request target into segments, dropping the query and
    /// fragment and empty segments; `nil` when the path is ambiguous.
    ///
    /// A path with `.` or `..` segments, or with escaped dots, slashes or
    /// backslashes, may be normalised differently by the product's own router
    /// than by the route table (`/api/analytics/../customers`), so it matches
    /// no route rather than risk granting the wrong capability.
    ///
    /// Read as bytes, as an HTTP router reads a request target: Swift's
    /// `Character`s join a combining mark to the `/`, `?` or `%2f` before
    /// it, and `String`'s `==` holds canonically equivalent texts equal,
    /// so `/v1/items/\u{301}` was one segment fewer than the product's
    /// router saw, and `/api\u{212A}eys` (KELVIN SIGN) matched `/apiKeys`.
    static func segments(of target: String) -> [Substring]? {
        let bytes = target.utf8
        let path = bytes.prefix { $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
        guard path.first == UInt8(ascii: "/") else { return nil }
        // Cut at ASCII bytes, so every piece begins and ends between characters' scalars.
        let segments = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map(Substring.init)
        guard !segments.contains(where: isAmbiguous) else { return nil }
        return segments
    }

    static func isAmbiguous(_ segment: Substring) -> Bool {
        let bytes = segment.utf8
        if bytes.elementsEqual(".".utf8) || bytes.elementsEqual("..".utf8) || bytes.contains(UInt8(ascii: "\\")) {
            return true
        }
        // An escaped dot, slash or backslash: %2e, %2f, %5c in either case.
        var previous: (UInt8, UInt8) = (0, 0)
        for byte in bytes {
            if previous.0 == UInt8(ascii: "%") {
                switch (previous.1, byte | 0x20) {
                case (UInt8(ascii: "2"), UInt8(ascii: "e")), (UInt8(ascii: "2"), UInt8(ascii: "f")), (UInt8(ascii: "5"), UInt8(ascii: "c")):
                    return true
                default: break
                }
            }
            previous = (previous.1, byte)
        }
        return false
    }
}

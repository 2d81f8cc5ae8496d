/// The path of a request as the route table reads it.
enum RequestPath {
    /// Splits a request target into segments, dropping the query and
    /// fragment and empty segments; `nil` when the path is ambiguous.
    ///
    /// A path with `.` or `..` segments, or with escaped dots, slashes or
    /// backslashes, may be normalised differently by the product's own router
    /// than by the route table (`/api/analytics/../customers`), so it matches
    /// no route rather than risk granting the wrong capability.
    static func segments(of target: String) -> [Substring]? {
        let path = target.prefix { $0 != "?" && $0 != "#" }
        guard path.hasPrefix("/") else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !segments.contains(where: isAmbiguous) else { return nil }
        return segments
    }

    static func isAmbiguous(_ segment: Substring) -> Bool {
        if segment == "." || segment == ".." || segment.contains("\\") { return true }
        guard segment.contains("%") else { return false }
        let lowered = segment.lowercased()
        return lowered.contains("%2e") || lowered.contains("%2f") || lowered.contains("%5c")
    }
}

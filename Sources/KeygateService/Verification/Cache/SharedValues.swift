/// One copy of what many cached keys repeat. Their kinds and capability
/// lists come from the catalog, their origin lists are often an
/// organization's one list; a copy of each in every cached key was about a
/// tenth of a 100,000-key cache's memory, and an allocation of its own
/// (docs/PERFORMANCE.md). Past ``limit`` distinct values of a sort, new
/// ones are kept as they came, so a store of many distinct lists cannot
/// make this grow without bound. Lives only inside ``VerificationState``'s
/// lock.
struct SharedValues {
    /// Distinct values kept of each sort.
    static let limit = 1_024

    private var strings: [String: String] = [:]
    private var lists: [[String]: [String]] = [:]
    /// The string and the list last asked for: keys read one after another
    /// mostly repeat them, and comparing costs less than hashing.
    private var lastString = ""
    private var lastList: [String] = []

    /// The copy held of `value`, or `value` itself.
    mutating func string(_ value: String) -> String {
        // Up to 15 bytes a string is held in place, with nothing to share.
        guard value.utf8.count > 15 else { return value }
        return Self.held(value, in: &strings, last: &lastString)
    }

    /// The copy held of `value`, or `value` itself.
    mutating func list(_ value: [String]) -> [String] {
        // An empty array is one shared storage already.
        guard !value.isEmpty else { return value }
        return Self.held(value, in: &lists, last: &lastList)
    }

    private static func held<Value: Hashable>(_ value: Value, in table: inout [Value: Value], last: inout Value) -> Value {
        if value == last { return last }
        if let held = table[value] {
            last = held
            return held
        }
        if table.count < limit {
            table[value] = value
            last = value
        }
        return value
    }
}

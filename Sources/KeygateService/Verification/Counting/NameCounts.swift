/// Counts by name for the few names one key meets in a day (the
/// capabilities it asks for, the codes that refuse it): a short list
/// searched in order, as a dictionary would hash the name on every
/// verification.
struct NameCounts {
    private var entries: [(name: String, count: Int)] = []

    mutating func add(_ name: String, _ count: Int = 1) {
        if let index = entries.firstIndex(where: { $0.name == name }) {
            entries[index].count += count
        } else {
            entries.append((name, count))
        }
    }

    /// The names with a count, as the store takes them.
    var dictionary: [String: Int] {
        var dictionary: [String: Int] = [:]
        for entry in entries where entry.count != 0 { dictionary[entry.name, default: 0] += entry.count }
        return dictionary
    }
}

import Foundation
import KeyStore

/// What `--usage-retention-days` costs on SQLite: a store whose `keys`
/// keys were each used on each of 60 days (a day's row and two breakdown
/// counts each, written as the flush writes them), then a folding pass
/// that finds 30 days of each key past the retention (what a pass does
/// once a month for every key), and one that finds none (what the hourly
/// passes in between cost).
func foldRows(keys: Int) throws -> [Row] {
    let folder = FileManager.default.temporaryDirectory.appending(path: "keygate-fold-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appending(path: "keygate.sqlite").path
    let rules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live"]), kinds: [], capabilities: [])
    let store = try SQLiteKeyStorage(path: path, rules: rules)
    let ids = (0..<keys).map { String(format: "key_%020d", $0) }
    let start = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01
    for day in 0..<60 {
        let date = start.addingTimeInterval(TimeInterval(day) * 86_400)
        for batch in stride(from: 0, to: keys, by: 1_000) {
            try store.flush(usage: ids[batch..<min(keys, batch + 1_000)].map { id in
                UsageIncrement(keyId: id, day: date, valid: 40, invalid: 1, lastUsedAt: date.addingTimeInterval(3_600),
                               lastOrigin: "https://app.example.com", lastIP: "203.0.113.7",
                               refusals: ["rate_limited": 1], capabilities: ["booking.read": 41])
            }, meters: [], identity: UUID().uuidString)
        }
    }
    let before = start.addingTimeInterval(30 * 86_400)
    func pass() throws -> (seconds: Double, folded: Int, steps: Int) {
        var cursor: String?
        var folded = 0
        var steps = 0
        let began = Measure.now()
        repeat {
            let step = try store.foldUsage(before: before, due: before, after: cursor, keys: 1_000)
            folded += step.folded
            cursor = step.next
            steps += 1
        } while cursor != nil
        return (Double(Measure.now() - began) / 1e9, folded, steps)
    }
    let folding = try pass()
    let idle = try pass()
    let count = keys.formatted()
    return [
        Row(name: "usage folding pass, SQLite, \(count) keys with 30 days each past the retention",
            value: String(format: "%.2f s, %.1f µs a key-day, %.0f ms a step of 1,000 keys", folding.seconds,
                          folding.seconds / Double(max(1, folding.folded)) * 1e6, folding.seconds / Double(folding.steps) * 1e3),
            target: "", met: nil),
        Row(name: "usage folding pass, SQLite, \(count) keys with nothing to fold",
            value: String(format: "%.3f s, %.1f µs a key", idle.seconds, idle.seconds / Double(keys) * 1e6), target: "", met: nil),
    ]
}

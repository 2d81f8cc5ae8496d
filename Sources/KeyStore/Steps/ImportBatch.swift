package import Foundation

/// A batch of imports decided in memory, in order, as
/// ``KeyStorage/importKey(_:limit:)`` would decide them one after another:
/// what both stores' batch imports share. A store reads the digests'
/// owners and the organizations' live counts, lets ``decide(owners:live:limits:now:)``
/// settle every key, and writes what it returns.
package struct ImportBatch {
    private var results: [Result<ImportedKeyResult, KeyStoreError>?]
    /// The keys whose fields passed, with their place in the batch.
    package let checked: [(index: Int, key: CheckedImport)]

    package init(_ keys: [ImportedKey], validator: KeyValidator, now: Date) {
        var results: [Result<ImportedKeyResult, KeyStoreError>?] = keys.map { _ in nil }
        var checked: [(index: Int, key: CheckedImport)] = []
        for (index, key) in keys.enumerated() {
            do throws(KeyStoreError) {
                checked.append((index, try validator.importedKey(key, now: now)))
            } catch {
                results[index] = .failure(error)
            }
        }
        self.results = results
        self.checked = checked
    }

    /// The organizations of the checked keys, in one order (to lock them in).
    package var organizations: [String] { Array(Set(checked.map(\.key.record.organizationId))).sorted() }

    /// One answer per key, in order; complete once ``decide(owners:live:limits:now:)`` ran.
    package var answers: [Result<ImportedKeyResult, KeyStoreError>] {
        results.map { $0 ?? .failure(KeyStoreError(.storageFailure, ["reason": "other"])) }
    }

    /// Live keys per organization of the kinds its limit counts, from
    /// counts per organization and kind.
    package static func live(_ counts: [(organizationId: String, kind: String, count: Int)], limits: [String: LiveKeyLimit])
        -> [String: Int]
    {
        var live: [String: Int] = [:]
        for row in counts where limits[row.organizationId]?.kinds.contains(row.kind) == true {
            live[row.organizationId, default: 0] += row.count
        }
        return live
    }

    /// Settles every checked key: already this organization's, another's,
    /// over the limit, or new. Returns the new ones, to be written.
    package mutating func decide(owners: [KeyDigest: KeyRecord], live: [String: Int], limits: [String: LiveKeyLimit],
                                 now: Date) -> [CheckedImport] {
        var owners = owners
        var live = live
        var new: [CheckedImport] = []
        for (index, key) in checked {
            let record = key.record
            if let owner = owners[key.digest] {
                results[index] = owner.organizationId == record.organizationId
                    ? .success(ImportedKeyResult(key: owner, imported: false))
                    : .failure(KeyStoreError(.keyConflict, field: key.source))
                continue
            }
            if let limit = limits[record.organizationId], limit.kinds.contains(record.kind), record.state(at: now) == .live {
                guard live[record.organizationId, default: 0] < limit.maximum else {
                    results[index] = .failure(KeyStoreError(.keyLimitReached, ["limit": "\(limit.maximum)"]))
                    continue
                }
                live[record.organizationId, default: 0] += 1
            }
            owners[key.digest] = record
            new.append(key)
            results[index] = .success(ImportedKeyResult(key: record, imported: true))
        }
        return new
    }
}

package import Foundation
import GRDB
import KeygateJSON

/// How values cross the SQL boundary, in one place.
package enum StorageCoding {
    /// Times are kept to the millisecond, the same way as on the wire.
    package static func milliseconds(_ date: Date) -> Int64 {
        RFC3339.milliseconds(date)
    }

    package static func date(_ milliseconds: Int64) -> Date {
        RFC3339.date(milliseconds: milliseconds)
    }

    /// A time as stored, so what a call returns equals what a later read returns.
    package static func truncated(_ date: Date) -> Date {
        self.date(milliseconds(date))
    }

    package static func list(_ values: [String]) -> String {
        values.joined(separator: " ")
    }

    /// A key's allowed origins as stored, in the spelling browsers send.
    /// An earlier Keygate kept IP addresses as typed (`http://127.1`), and
    /// a process of it still serving during a rolling upgrade writes such
    /// lists beside this one: every read goes through here, so whoever
    /// wrote a list, it matches what browsers send. (Rewriting the stored
    /// lists on upgrade as well changed nothing a caller sees, and cost a
    /// million keys' first start a second.) Only a list with a `[` or a
    /// digit right after `://` can be spelled otherwise, a scan of its
    /// bytes; every other list is only split.
    package static func origins(_ text: String) -> [String] {
        let stored = list(text)
        return mayHoldAnAddress(text) ? WebOrigin.renormalized(stored) : stored
    }

    private static func mayHoldAnAddress(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for index in bytes.indices {
                if bytes[index] == UInt8(ascii: "[") { return true }
                if index >= 3, bytes[index - 3] == UInt8(ascii: ":"), bytes[index - 2] == UInt8(ascii: "/"),
                   bytes[index - 1] == UInt8(ascii: "/"), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                    return true
                }
            }
            return false
        }
    }

    /// By bytes: the generic `split` was a visible part of a cache miss.
    package static func list(_ text: String) -> [String] {
        var items: [String] = []
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: " ") {
                if index > start { items.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)) }
                start = index + 1
            }
        }
        return items
    }

    /// A list bound as one JSON argument, for `IN (SELECT value FROM json_each(?))`.
    static func jsonArray(_ values: [String]) -> String {
        JSON.strings(values).text
    }

    /// The day of the row each key's usage of days past the retention is
    /// folded into (``KeyStorage/foldUsage(before:due:after:keys:)``): before every
    /// real day, so a key's totals (summed over its rows) and last use
    /// (from its latest row that has one) take it in as they are, while
    /// no range of real days reaches it.
    package static let foldedDay = "0000-00-00"

    /// How a key's stored day row takes in another's counts and last use,
    /// in an upsert's `DO UPDATE SET` on `key_usage_day` (a flush's row,
    /// and folded days, on either store): the counts added, and the later
    /// last use kept with its origin and address.
    package static let dayRowMerge = """
        valid = key_usage_day.valid + excluded.valid, invalid = key_usage_day.invalid + excluded.invalid,
        last_origin = CASE WHEN excluded.last_used_at > COALESCE(key_usage_day.last_used_at, 0)
                           THEN excluded.last_origin ELSE key_usage_day.last_origin END,
        last_ip = CASE WHEN excluded.last_used_at > COALESCE(key_usage_day.last_used_at, 0)
                       THEN excluded.last_ip ELSE key_usage_day.last_ip END,
        last_used_at = CASE WHEN excluded.last_used_at > COALESCE(key_usage_day.last_used_at, 0)
                            THEN excluded.last_used_at ELSE key_usage_day.last_used_at END
        """

    package static func day(_ date: Date) -> String {
        RFC3339.day(date)
    }

    package static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// Cursors are opaque to callers: the position of the last item seen.
    package static func cursor(_ position: Int64) -> String {
        Data("p\(position)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    package static func position(_ cursor: String) throws(KeyStoreError) -> Int64 {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard cursor.count <= 32, let data = Data(base64Encoded: base64),
            let text = String(data: data, encoding: .utf8), text.hasPrefix("p"),
            let position = Int64(text.dropFirst()), position > 0
        else { throw KeyStoreError(.invalidCursor, field: "cursor") }
        return position
    }

    /// How a secret `s` finds its key's row `k`: by the row's number where
    /// the secret names it (migration v13), else through the key's id (a
    /// secret from before it, until ``KeyDatabase/linkSecrets(_:batch:)``). The
    /// number saves a descent of the id index on verification's miss.
    static let secretsKeyRow = "k.seq = IFNULL(s.key_seq, (SELECT seq FROM api_key WHERE id = s.key_id))"

    /// The columns every key query selects, in ``key(_:offset:)``'s order:
    /// the key, its usage counts and its latest day's last use, from the
    /// per-day table in the same statement (no query per key).
    static let keyColumns = """
        k.id, k.organization_id, k.name, k.kind, k.capabilities, k.environment, k.hint, k.rate_limit,
        k.allowed_origins, k.created_at, k.expires_at, k.revoked_at, k.last_used_at, k.last_origin, k.last_ip,
        (SELECT IFNULL(SUM(valid), 0) FROM key_usage_day WHERE key_id = k.id),
        (SELECT IFNULL(SUM(invalid), 0) FROM key_usage_day WHERE key_id = k.id),
        \(lastUse("last_used_at")), \(lastUse("last_origin")), \(lastUse("last_ip"))
        """

    /// A column of the key's latest day with a use (the day table's primary
    /// key, read backwards from the key's last day).
    private static func lastUse(_ column: String) -> String {
        "(SELECT \(column) FROM key_usage_day WHERE key_id = k.id AND last_used_at IS NOT NULL ORDER BY day DESC LIMIT 1)"
    }

    /// A key from ``keyColumns``, starting at column `offset`; read by
    /// position, as a name look-up per column cost more than the rest.
    static func key(_ row: Row, offset: Int = 0) -> KeyRecord {
        func time(_ index: Int) -> Date? { (row[offset + index] as Int64?).map(date) }
        let lastUse = LastUse.newer(
            LastUse(at: time(12), origin: row[offset + 13], ip: row[offset + 14]),
            LastUse(at: time(17), origin: row[offset + 18], ip: row[offset + 19]))
        return KeyRecord(
            id: row[offset],
            organizationId: row[offset + 1],
            name: row[offset + 2],
            kind: row[offset + 3],
            capabilities: list(row[offset + 4] as String),
            environment: row[offset + 5],
            hint: row[offset + 6],
            rateLimit: row[offset + 7],
            allowedOrigins: origins(row[offset + 8] as String),
            createdAt: date(row[offset + 9]),
            expiresAt: time(10),
            revokedAt: time(11),
            lastUsedAt: lastUse.at,
            lastOrigin: lastUse.origin,
            lastIP: lastUse.ip,
            usage: KeyUsage(valid: row[offset + 15] ?? 0, invalid: row[offset + 16] ?? 0)
        )
    }

    /// A database failure as the store reports it: a reason a person can act
    /// on, never SQL or file paths; where the reason is `other`, which says
    /// nothing, SQLite's words as `detail` for the log ("no such table:
    /// outbox_event": they name tables and columns, never a value).
    static func failure(_ error: DatabaseError) -> KeyStoreError {
        let reason: String
        switch error.resultCode {
        case _ where error.deniesWrites: reason = "read_only"
        case .SQLITE_BUSY, .SQLITE_LOCKED: reason = "busy"
        case .SQLITE_FULL: reason = "full"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: reason = "corrupt"
        case .SQLITE_IOERR, .SQLITE_CANTOPEN: reason = "io"
        default: reason = "other"
        }
        guard reason == "other" else { return KeyStoreError(.storageFailure, ["reason": reason]) }
        return KeyStoreError(.storageFailure, ["reason": reason, "detail": error.message ?? "\(error.resultCode)"])
    }

    /// A failure as ``failure(_:)`` words it, with SQLite's own words (or
    /// the error's) as `detail` for the operator's log, after `subject`, the
    /// file concerned, when there is one. For start-up and the usage
    /// file's writer, whose failures reach no caller but the log.
    static func failure(_ error: any Error, detailing subject: String?) -> KeyStoreError {
        let prefix = subject.map { "\($0): " } ?? ""
        switch error {
        case let error as KeyStoreError:
            return error
        case let error as DatabaseError:
            var parameters = failure(error).parameters
            parameters["detail"] = prefix + (error.message ?? "\(error.resultCode)")
            return KeyStoreError(.storageFailure, parameters)
        default:
            return KeyStoreError(.storageFailure, ["reason": "other", "detail": prefix + "\(error)"])
        }
    }
}

extension DatabaseError {
    /// The process may read the file but not write it: its permissions, a
    /// read-only mount, an immutable file, or SQLite's authorizer. One list
    /// for every place that tells this from other failures.
    var deniesWrites: Bool {
        [.SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH].contains(resultCode)
    }
}

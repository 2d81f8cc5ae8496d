package import Foundation

/// Where a key was last used: kept on the key (from before the day rows
/// held it, or brought by an import) and in its latest day's row.
package struct LastUse {
    package var at: Date?
    package var origin: String?
    package var ip: String?

    package init(at: Date?, origin: String?, ip: String?) {
        self.at = at
        self.origin = origin
        self.ip = ip
    }

    /// The later of two.
    package static func newer(_ one: LastUse, _ other: LastUse) -> LastUse {
        guard let otherAt = other.at else { return one }
        guard let oneAt = one.at else { return other }
        return otherAt > oneAt ? other : one
    }
}

public import Foundation

/// A plan catalog a process serves with, as that process last recorded it
/// in the database it shares with others.
///
/// Every process answers about plans from its own catalog; processes on
/// one database that load different catalogs answer the same request
/// differently. Each records its catalog now and then
/// (``SubscriptionStorage/recordCatalog(_:within:)``), so that each can
/// tell when another serves with a different one.
public struct CatalogInUse: Sendable, Hashable {
    /// The SHA-256 of the catalog file, in lowercase hex: one row per
    /// digest, so processes with the same catalog share it.
    public var digest: String
    /// Where the process that recorded it last loaded it (a path).
    public var source: String
    /// The host that process runs on.
    public var host: String
    public var processId: Int32
    /// When it was recorded, by the store's clock (set by the store).
    public var seenAt: Date

    public init(digest: String, source: String, host: String, processId: Int32, seenAt: Date = Date(timeIntervalSince1970: 0)) {
        self.digest = digest
        self.source = source
        self.host = host
        self.processId = processId
        self.seenAt = seenAt
    }

    /// How long a catalog stays recorded after its last process recorded
    /// it: a process stopped a day ago tells nothing about today.
    public static let retention: TimeInterval = 86_400
}

import Foundation
import GRDB
@testable import KeyStore

/// A store on an in-memory database (or a file, where a test needs one),
/// with the default catalog's registry and a clock the test controls.
struct StoreFixture {
    static let rules = KeyRules(
        format: KeyFormat(prefix: "kg", environments: ["live", "test"]),
        kinds: ["owner_integration", "booking_partner"],
        capabilities: ["availability.read", "booking.create", "booking.read", "booking.cancel",
                       "services.read", "staff.read", "webhook.manage", "subscription.read"])

    let clock = ManualClock()
    let database: any DatabaseWriter
    let storage: SQLiteKeyStorage

    init(database: (any DatabaseWriter)? = nil) throws {
        let database = try database ?? KeyDatabase.inMemory()
        self.database = database
        storage = SQLiteKeyStorage(database: database, rules: Self.rules, clock: clock)
    }

    func newKey(
        organization: String = "org_a", name: String = "Zapier", kind: String = "owner_integration",
        capabilities: [String] = ["booking.read"], environment: String = "live", rateLimit: Int = 60,
        origins: [String] = [], expiresIn: TimeInterval? = nil
    ) -> NewKey {
        NewKey(
            organizationId: organization, name: name, kind: kind, capabilities: capabilities,
            environment: environment, rateLimit: rateLimit, allowedOrigins: origins,
            expiresAt: expiresIn.map { clock.now().addingTimeInterval($0) }, actor: "user_1")
    }

    func create(_ key: NewKey? = nil) throws -> IssuedKey {
        try storage.create(key ?? newKey())
    }

    /// The key a secret finds, or nil when it finds none.
    func found(_ secret: RawKey) throws -> KeyRecord? {
        if case .found(let match) = try storage.find(secret: secret.unredacted) { return match.key }
        return nil
    }
}

/// A fresh directory under the system's temporary one, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appending(path: "keygate-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

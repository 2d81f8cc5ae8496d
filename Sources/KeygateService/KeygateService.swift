public import Foundation
public import KeyStore
public import PlanCatalog

/// The one place where the plan catalog meets the key store: every rule of
/// the form "is this allowed on this plan?" lives here, once, for every caller.
///
/// ```swift
/// let service = KeygateService(catalog: catalog, storage: storage)
/// try service.createKey(CreateKeyRequest(organizationId: "org_1", name: "Zapier",
///                                        kind: "owner_integration", capabilities: ["booking.read"]))
/// // on Free: ServiceError plan_forbids_api_keys, requiredPlan "pro"
/// ```
public struct KeygateService: Sendable {
    public let catalog: PlanCatalog
    let storage: any KeygateStorage
    let clock: any WallClock
    /// Shared by every copy of this service value: what verification caches
    /// and counts in this process (rate limits, not-yet-flushed usage).
    let verification: VerificationState
    /// The store's key format, kept here: reading it through the storage
    /// existential copies all of its rules on every verification.
    let keyFormat: KeyFormat
    /// Kept here for the same reason as ``keyFormat``.
    let sharedLimits: (any SharedRateLimits)?
    /// The catalog's capabilities, by name: what a verification's counts
    /// may be broken down by. Kept here for the same reason as ``keyFormat``.
    let capabilityNames: Set<String>
    /// Each plan's access for organizations within its maximum (``KeyAccess/shared(by:)``).
    let planAccess: [PlanID: KeyAccess]
    /// Whether this service runs one command of a unit of work, in the
    /// command's savepoint (see ``atomically(_:)``).
    private(set) var inUnit = false
    /// How far ahead of this clock a billing event may be dated (clock
    /// skew between billing and this host); later ones are refused.
    public let eventClockSkew: TimeInterval

    /// The default ``eventClockSkew``: five minutes.
    public static let defaultEventClockSkew: TimeInterval = 300

    /// The default ``init(catalog:storage:clock:eventClockSkew:cacheCapacity:)``
    /// cache: 100,000 keys and as many organizations.
    public static let defaultCacheCapacity = VerificationState.defaultCapacity

    /// A service over `storage`, under the plans of `catalog`.
    ///
    /// - Parameters:
    ///   - clock: The time every rule reads (expiry, quota periods, rate limits).
    ///   - eventClockSkew: How far ahead of `clock` a billing event may be dated.
    ///   - cacheCapacity: How many keys, and how many organizations,
    ///     verification keeps in memory; past it, those not used lately give
    ///     way. A key not in the cache costs a read of the store; what a
    ///     full cache takes is measured in docs/OPERATIONS.md. Must be at
    ///     least 1.
    public init(catalog: PlanCatalog, storage: any KeygateStorage, clock: any WallClock = SystemClock(),
                eventClockSkew: TimeInterval = defaultEventClockSkew, cacheCapacity: Int = defaultCacheCapacity) {
        precondition(cacheCapacity >= 1, "the verification cache holds at least one key")
        self.init(catalog: catalog, storage: storage, clock: clock, eventClockSkew: eventClockSkew,
                  verification: VerificationState(capacity: cacheCapacity))
    }

    /// A service whose verification state is given: tests size its caches,
    /// and a unit of work's service shares its parent's.
    init(catalog: PlanCatalog, storage: any KeygateStorage, clock: any WallClock,
         eventClockSkew: TimeInterval = defaultEventClockSkew, verification: VerificationState,
         planAccess: [PlanID: KeyAccess]? = nil) {
        self.catalog = catalog
        self.storage = storage
        self.clock = clock
        self.eventClockSkew = eventClockSkew
        keyFormat = storage.rules.format
        sharedLimits = storage.rateLimits
        capabilityNames = storage.rules.capabilities
        self.verification = verification
        self.planAccess = planAccess ?? KeyAccess.shared(by: catalog)
    }

    /// The same service on another storage (a transaction's), sharing what
    /// verification keeps in memory.
    fileprivate init(_ service: KeygateService, storage: any KeygateStorage) {
        self.init(catalog: service.catalog, storage: storage, clock: service.clock,
                  eventClockSkew: service.eventClockSkew, verification: service.verification,
                  planAccess: service.planAccess)
        inUnit = true
    }

    /// The service's time, for what callers derive from it (such as "2 days ago").
    public func now() -> Date { clock.now() }

    /// Runs a store call, turning its errors into the service's.
    func store<T>(_ body: () throws(KeyStoreError) -> T) throws(ServiceError) -> T {
        do {
            return try body()
        } catch {
            throw ServiceError(error)
        }
    }
}

extension KeyFormat {
    /// The format of a catalog's keys: its prefix and environments, and the
    /// legacy formats it still accepts.
    public init(catalog: PlanCatalog) {
        self.init(prefix: catalog.keys.prefix, environments: catalog.keys.environments,
                  legacy: catalog.keys.legacyFormats.map { LegacyKeyFormat(prefix: $0.prefix, environment: $0.environment) })
    }
}

extension KeyRules {
    /// The store's rules for a catalog: its key format, kinds and capabilities.
    public init(catalog: PlanCatalog) {
        self.init(
            format: KeyFormat(catalog: catalog),
            kinds: Set(catalog.kinds.map(\.id.rawValue)),
            capabilities: Set(catalog.capabilities.map(\.id.rawValue)))
    }
}

extension KeygateService {
    /// Runs commands as one unit of work: one transaction, committed when
    /// `body` returns. `body` runs each command through
    /// ``UnitOfWork/run(_:)``; until this returns, none of them may be
    /// reported as done (they are durable only once it has). Returns `nil`,
    /// without running `body`, when no transaction could begin.
    ///
    /// ```swift
    /// let keys = try service.unitOfWork { unit in
    ///     requests.map { request in Result { try unit.run { service in try service.createKey(request) } } }
    /// }
    /// ```
    public func unitOfWork<T>(_ body: (UnitOfWork) -> T) throws(ServiceError) -> T? {
        try store { () throws(KeyStoreError) in
            try storage.transaction { transaction in body(UnitOfWork(service: self, transaction: transaction)) }
        }
    }
}

extension KeygateService {
    /// Runs `body` with a service bound to one transaction (inside a unit
    /// of work, the command's own savepoint): what it writes, a change and
    /// the events it causes, is kept together or not at all.
    func atomically<T>(_ body: (KeygateService) throws(ServiceError) -> T) throws(ServiceError) -> T {
        // A command of a unit already has a savepoint of its own: whatever it
        // throws takes its writes back. Another level would only cost (SQLite
        // keeps a sub-journal per level).
        if inUnit { return try body(self) }
        let outcome = try unitOfWork { unit in
            Result { () throws(ServiceError) in
                do {
                    return try unit.run { service in try body(service) }
                } catch let error as ServiceError {
                    throw error
                } catch {
                    throw ServiceError(.storageFailure, ["reason": "other"])
                }
            }
        }
        guard let outcome else { throw ServiceError(.storageFailure, ["reason": "busy"]) }
        return try outcome.get()
    }
}

/// Commands that commit together (``KeygateService/unitOfWork(_:)``).
public struct UnitOfWork {
    let service: KeygateService
    let transaction: any StorageTransaction

    /// Runs one command with a service bound to the unit's transaction, in a
    /// savepoint of its own: it sees what the commands before it wrote, and
    /// if it throws, none of its writes are kept (the others' are).
    public func run<T>(_ command: (KeygateService) throws -> T) throws -> T {
        do {
            return try transaction.step { storage in try command(KeygateService(service, storage: storage)) }
        } catch let error as KeyStoreError {
            throw ServiceError(error)
        }
    }
}

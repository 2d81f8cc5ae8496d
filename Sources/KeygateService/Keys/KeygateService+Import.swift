public import Foundation
public import KeyStore
import PlanCatalog

/// A key issued before Keygate, to move in: ``KeygateService/importKeys(_:)``.
public struct ImportKeyRequest: Sendable, Hashable {
    public var organizationId: String
    public var name: String
    public var kind: String
    public var capabilities: [String]
    /// The key itself (hashed on the way in, never stored) or its SHA-256 digest.
    public var secret: ImportedKey.Secret
    public var environment: String?
    /// `nil`: the plan's default.
    public var rateLimit: Int?
    public var allowedOrigins: [String]
    public var createdAt: Date?
    public var expiresAt: Date?
    public var lastUsedAt: Date?
    public var actor: String?

    public init(
        organizationId: String, name: String, kind: String, capabilities: [String], secret: ImportedKey.Secret,
        environment: String? = nil, rateLimit: Int? = nil, allowedOrigins: [String] = [], createdAt: Date? = nil,
        expiresAt: Date? = nil, lastUsedAt: Date? = nil, actor: String? = nil
    ) {
        self.organizationId = organizationId
        self.name = name
        self.kind = kind
        self.capabilities = capabilities
        self.secret = secret
        self.environment = environment
        self.rateLimit = rateLimit
        self.allowedOrigins = allowedOrigins
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.actor = actor
    }
}

/// What importing one key did.
public enum KeyImport: Sendable {
    case imported(ManagedKey)
    /// The key was already here, in this organization; nothing changed.
    case alreadyPresent(ManagedKey)
    /// Refused, as a creation would have been, or for what only imports
    /// check (an unrecognised key, a bad digest, another organization's key).
    case refused(ServiceError)
}

extension KeygateService {
    /// The most keys one ``importKeys(_:)`` call takes.
    public static let maximumImportBatch = 1_000

    /// Moves in keys issued before Keygate, each checked against its
    /// organization's plan exactly as a creation would be. One answer per
    /// key, in order; a refused key affects no other. Importing a key
    /// already here is answered `alreadyPresent` and changes nothing, so a
    /// batch can be sent again after a failure. The keys are written in one
    /// transaction.
    public func importKeys(_ requests: [ImportKeyRequest]) throws(ServiceError) -> [KeyImport] {
        guard requests.count <= Self.maximumImportBatch else {
            throw ServiceError(.invalidLimit, field: "keys", ["max": "\(Self.maximumImportBatch)", "reason": "batch"])
        }
        var organizations: [String: Result<OrganizationPlan, ServiceError>] = [:]
        for organizationId in Set(requests.map(\.organizationId)) {
            organizations[organizationId] = Result { () throws(ServiceError) in try organizationPlan(organizationId) }
        }
        // The plan's gates first, in memory; what passes goes to the store in one call.
        let now = clock.now()
        var outcomes: [Result<ImportedKeyResult, ServiceError>?] = Array(repeating: nil, count: requests.count)
        var accepted: [(index: Int, key: ImportedKey, gates: KeyGates)] = []
        var limits: [String: LiveKeyLimit] = [:]
        for (index, request) in requests.enumerated() {
            do throws(ServiceError) {
                guard let organization = organizations[request.organizationId] else { preconditionFailure("planned above") }
                let (key, gates, limit) = try gated(request, on: try organization.get(), now: now)
                accepted.append((index, key, gates))
                limits[request.organizationId] = limit
            } catch {
                outcomes[index] = .failure(error)
            }
        }
        // One transaction of the store's (a savepoint inside a unit of work).
        let stored = try store { () throws(KeyStoreError) in try storage.importKeys(accepted.map(\.key), limits: limits) }
        for (entry, result) in zip(accepted, stored) {
            outcomes[entry.index] = result.mapError { error in
                error.code == .keyLimitReached
                    ? entry.gates.keyLimitReached(limits[entry.key.organizationId]?.maximum ?? 0) : ServiceError(error)
            }
        }
        // Presented per organization, each key's status derived from its plan.
        var presented: [KeyImport?] = Array(repeating: nil, count: requests.count)
        for (organizationId, plan) in organizations {
            guard case .success(let organization) = plan else { continue }
            let imported = outcomes.indices.compactMap { index -> (Int, ImportedKeyResult)? in
                guard requests[index].organizationId == organizationId, case .success(let result)? = outcomes[index] else {
                    return nil
                }
                return (index, result)
            }
            var managed = try self.managed(imported.map(\.1.key), organization: organization)
            // A key already here may have secrets a rotation left working;
            // a key just imported has none: no read for a batch of new keys.
            let present = imported.indices.filter { !imported[$0].1.imported }
            for (position, key) in zip(present, try withPreviousSecrets(present.map { managed[$0] })) {
                managed[position] = key
            }
            for ((index, result), key) in zip(imported, managed) {
                presented[index] = result.imported ? .imported(key) : .alreadyPresent(key)
            }
        }
        return outcomes.indices.map { index in
            if let result = presented[index] { return result }
            if case .failure(let error)? = outcomes[index] { return .refused(error) }
            preconditionFailure("every key has an outcome")
        }
    }

    /// A key through the plan's gates: what the store is to import, with
    /// its organization's live-key limit.
    private func gated(_ request: ImportKeyRequest, on organization: OrganizationPlan, now: Date) throws(ServiceError)
        -> (ImportedKey, KeyGates, LiveKeyLimit?)
    {
        let gates = KeyGates(catalog: catalog, plan: organization.plan)
        let policy = try gates.policy()
        let kind = try gates.kind(request.kind, in: policy)
        try gates.capabilities(request.capabilities, of: kind, in: policy)
        let rateLimit = try gates.rateLimit(request.rateLimit, in: policy)
        let expiresAt = try gates.expiry(request.expiresAt, now: now, in: policy)
        let key = ImportedKey(
            organizationId: request.organizationId, name: request.name, kind: request.kind,
            capabilities: request.capabilities, secret: request.secret, environment: request.environment,
            rateLimit: rateLimit, allowedOrigins: request.allowedOrigins, createdAt: request.createdAt,
            expiresAt: expiresAt, lastUsedAt: request.lastUsedAt, actor: request.actor)
        let limit = policy.maxActiveKeys.map { LiveKeyLimit(maximum: $0, kinds: policy.kinds.map(\.rawValue)) }
        return (key, gates, limit)
    }
}

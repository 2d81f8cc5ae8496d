public import Foundation
public import KeyStore
import PlanCatalog

extension KeygateService {
    /// Creates a key if the organization's plan allows it, returning its only secret.
    ///
    /// Under an ``CreateKeyRequest/idempotencyKey`` the organization used
    /// for an earlier creation, nothing is created: the same creation (a
    /// retry whose answer was lost) is refused with
    /// ``ServiceError/Code/keyAlreadyCreated`` naming the key, whose secret
    /// is never answered again; another with
    /// ``ServiceError/Code/idempotencyKeyReused``: compared by what the
    /// calls sent, not by the defaults the plan filled in; so also when
    /// the plan would refuse it now (it was downgraded since).
    public func createKey(_ request: CreateKeyRequest) throws(ServiceError) -> CreatedKey {
        let organization = try organizationPlan(request.organizationId)
        let gates = KeyGates(catalog: catalog, plan: organization.plan)
        func key(rateLimit: Int, expiresAt: Date?) -> NewKey {
            NewKey(
                organizationId: request.organizationId, name: request.name, kind: request.kind,
                capabilities: request.capabilities, environment: request.environment ?? catalog.keys.environments[0],
                rateLimit: rateLimit, allowedOrigins: request.allowedOrigins, expiresAt: expiresAt, actor: request.actor,
                idempotencyKey: request.idempotencyKey,
                sent: .init(environment: request.environment, rateLimit: request.rateLimit, expiresAt: request.expiresAt))
        }
        let issued: IssuedKey
        do throws(ServiceError) {
            let policy = try gates.policy()
            let kind = try gates.kind(request.kind, in: policy)
            try gates.capabilities(request.capabilities, of: kind, in: policy)
            let rateLimit = try gates.rateLimit(request.rateLimit, in: policy)
            let new = key(rateLimit: rateLimit, expiresAt: try gates.expiry(request.expiresAt, now: clock.now(), in: policy))
            let limit = policy.maxActiveKeys.map { LiveKeyLimit(maximum: $0, kinds: policy.kinds.map(\.rawValue)) }
            do {
                issued = try storage.create(new, limit: limit)
            } catch where error.code == .keyLimitReached {
                throw gates.keyLimitReached(limit?.maximum ?? 0)
            } catch {
                throw ServiceError(error)
            }
        } catch where request.idempotencyKey != nil && Self.refusesARetry(error.code) {
            // A retry the plan or the store's checks refuse now (a plan
            // downgraded, an expiry passed since) is told of the key its
            // first call made: the key exists. The look-up is the refusal's
            // courtesy: failing, the refusal stands.
            let sent = key(rateLimit: request.rateLimit ?? KeyRules.rateLimits.lowerBound, expiresAt: request.expiresAt)
            if let earlier = (try? storage.earlierCreation(of: sent)) ?? nil { throw ServiceError(earlier) }
            throw error
        }
        // The store admitted it under the limit, so it is within the maximum.
        let key = try managed([issued.key], organization: organization, knownWithinLimit: true)[0]
        return CreatedKey(key: key, secret: issued.secret, previousSecretExpiresAt: nil)
    }

    /// Whether a creation or rotation refused with `code` may be a retry
    /// of one that went through: a refusal of what it asks, not one that
    /// already speaks of its idempotency key, nor the database failing.
    private static func refusesARetry(_ code: ServiceError.Code) -> Bool {
        ![.keyAlreadyCreated, .keyAlreadyRotated, .idempotencyKeyReused, .invalidIdempotencyKey, .storageFailure]
            .contains(code)
    }

    /// What the create dialog may offer, by the same gates as ``createKey(_:)``.
    public func keyOptions(organizationId: String) throws(ServiceError) -> KeyOptions {
        let organization = try organizationPlan(organizationId)
        let gates = KeyGates(catalog: catalog, plan: organization.plan)
        let policy = organization.plan.apiKeys
        let kinds = policy.map { policy in
            policy.kinds.compactMap { id -> KindOption? in
                guard let kind = catalog.kind(id) else { return nil }
                let capabilities = catalog.usableCapabilities(of: id, on: organization.plan).compactMap(catalog.capability)
                return KindOption(kind: kind, capabilities: capabilities)
            }
        } ?? []
        let activeKeys = try store { () throws(KeyStoreError) in
            try storage.liveKeyCount(organizationId: organizationId, kinds: policy?.kinds.map(\.rawValue) ?? [])
        }
        var reason: ServiceError?
        do {
            _ = try gates.policy()
            if let maximum = policy?.maxActiveKeys, activeKeys >= maximum {
                reason = gates.keyLimitReached(maximum)
            }
        } catch {
            reason = error
        }
        return KeyOptions(
            canCreate: reason == nil, reason: reason, kinds: kinds, rateLimit: policy?.rateLimit,
            maxLifetimeDays: policy?.maxLifetimeDays, activeKeys: activeKeys, maxActiveKeys: policy?.maxActiveKeys)
    }

    public func key(id: String, organizationId: String) throws(ServiceError) -> ManagedKey {
        let organization = try organizationPlan(organizationId)
        let (record, previousSecrets) = try store { () throws(KeyStoreError) in
            try storage.keyWithPreviousSecrets(id: id, organizationId: organizationId)
        }
        var key = try managed([record], organization: organization)[0]
        // Read for a live key; a suspended one shows them too, as they open it once its plan allows.
        key.previousSecrets = previousSecrets
        return key
    }

    /// A page of keys, newest first, `limit` of them (50 by default) but
    /// on the last page.
    ///
    /// `active` and `suspended` depend on the plan, so the store cannot
    /// filter by them: pages of live keys are read until this one is full,
    /// and then on until a key of the status follows it, so a cursor never
    /// leads to an empty page when the call could see the end. Past
    /// ``statusScanLimit`` keys in one call, the page is answered as it
    /// stands, perhaps shorter, with a cursor to the rest.
    public func keys(organizationId: String, status: KeyStatus?, cursor: String?, limit: Int?) throws(ServiceError)
        -> ManagedKeyPage
    {
        let organization = try organizationPlan(organizationId)
        // Suspension depends on the plan: the store filters for live keys
        // and the statuses are derived over them.
        let filter: KeyFilter = switch status {
        case nil: .all
        case .active?, .suspended?: .state(.live)
        case .expired?: .state(.expired)
        case .revoked?: .state(.revoked)
        }
        guard let status, filter == .state(.live) else {
            // The page with its keys' earlier secrets, read together: a
            // live key's, suspended or not, as they open it once its plan allows.
            let (page, previousSecrets) = try store { () throws(KeyStoreError) in
                try storage.keysWithPreviousSecrets(organizationId: organizationId, filter: filter, cursor: cursor, limit: limit)
            }
            let keys = try managed(page.keys, organization: organization)
            return ManagedKeyPage(keys: Self.keys(keys, with: previousSecrets), nextCursor: page.nextCursor)
        }
        // A scan by status reads up to ``statusScanLimit`` keys to answer a
        // page: the earlier secrets of those it keeps only, afterwards.
        func page(after cursor: String?, limit: Int?) throws(ServiceError) -> KeyPage {
            try store { () throws(KeyStoreError) in
                try storage.keys(organizationId: organizationId, filter: filter, cursor: cursor, limit: limit)
            }
        }
        let size = try store { () throws(KeyStoreError) in try KeyValidator.pageSize(limit) }
        // Store pages of at least the default size: a page of one active
        // key among many suspended ones is a few reads, not one a key.
        let reading = max(size, KeyRules.defaultPageSize)
        // One reading of which keys the plan's maximum holds, for every
        // page: statuses from one moment, and one read, not one a page.
        let (access, now) = (try access(organization, ranking: true), clock.now())
        var found: [ManagedKey] = []
        // The cursor after the page's last key, once the page is full.
        var full: String?
        var next = cursor
        var passed = 0
        // The answer's cursor: `nil` once the scan saw the end.
        var nextCursor: String?
        scan: while true {
            let page = try page(after: next, limit: min(reading, Self.statusScanLimit - passed))
            let keys = managed(page.keys, access: access, at: now)
            for (index, key) in keys.enumerated() where key.status == status {
                // A key of the status follows the full page: it has a next one.
                if let full {
                    nextCursor = full
                    break scan
                }
                found.append(key)
                if found.count == size { full = page.cursor(after: index) }
            }
            passed += keys.count
            guard let following = page.nextCursor else { break scan }
            guard passed < Self.statusScanLimit else {
                nextCursor = full ?? following
                break scan
            }
            next = following
        }
        return ManagedKeyPage(keys: try withPreviousSecrets(found), nextCursor: nextCursor)
    }

    /// The most keys one `keys.list` call filtered by `active` or
    /// `suspended` reads: an organization of many keys of the other status
    /// costs a client more calls, not one long one.
    public static let statusScanLimit = 1_000

    public func updateKey(id: String, organizationId: String, changes: KeyChanges, actor: String?) throws(ServiceError)
        -> ManagedKey
    {
        let organization = try organizationPlan(organizationId)
        if changes.capabilities != nil || changes.rateLimit != nil || changes.expiresAt != nil {
            let gates = KeyGates(catalog: catalog, plan: organization.plan)
            let policy = try gates.policy()
            let current = try store { () throws(KeyStoreError) in try storage.key(id: id, organizationId: organizationId) }
            if let capabilities = changes.capabilities, let kind = catalog.kind(KindID(current.kind)) {
                try gates.capabilities(capabilities, of: kind, in: policy)
            }
            if let rateLimit = changes.rateLimit {
                _ = try gates.rateLimit(rateLimit, in: policy)
            }
            if let expiresAt = changes.expiresAt {
                _ = try gates.expiry(expiresAt, now: clock.now(), in: policy)
            }
        }
        let record = try store { () throws(KeyStoreError) in
            try storage.update(id: id, organizationId: organizationId, changes: changes, actor: actor)
        }
        return try presented([record], organization: organization)[0]
    }

    /// Gives an active key a new secret; a suspended key cannot be rotated
    /// until its plan allows it again.
    ///
    /// Under an `idempotencyKey` the organization used for an earlier
    /// rotation, nothing is rotated: the same rotation (the same key and
    /// grace; a retry whose answer was lost, a job run twice) is refused
    /// with ``ServiceError/Code/keyAlreadyRotated`` naming the key, whose
    /// new secret is never answered again; another with
    /// ``ServiceError/Code/idempotencyKeyReused``; so also when the plan
    /// would refuse it now.
    public func rotateKey(id: String, organizationId: String, gracePeriodSeconds: Int, actor: String?,
                          idempotencyKey: String? = nil) throws(ServiceError) -> CreatedKey
    {
        do throws(ServiceError) {
            let organization = try organizationPlan(organizationId)
            _ = try KeyGates(catalog: catalog, plan: organization.plan).policy()
            let record = try store { () throws(KeyStoreError) in try storage.key(id: id, organizationId: organizationId) }
            let now = clock.now()
            // A rotation changes no key's place among the live ones: the
            // answer's status is read from the same ranking (a read fewer on
            // PostgreSQL's round trips).
            let access = try access(organization, ranking: record.state(at: now) == .live)
            if managed([record], access: access, at: now)[0].status == .suspended {
                throw ServiceError(.keySuspended, field: "keyId",
                                   ["plan": organization.plan.id.rawValue, "planName": organization.plan.nameKey])
            }
            let issued = try store { () throws(KeyStoreError) in
                try storage.rotate(id: id, organizationId: organizationId, gracePeriodSeconds: gracePeriodSeconds,
                                   actor: actor, idempotencyKey: idempotencyKey)
            }
            return CreatedKey(
                key: try withPreviousSecrets(managed([issued.key], access: access, at: now))[0], secret: issued.secret,
                previousSecretExpiresAt: issued.previousSecretExpiresAt)
        } catch where Self.refusesARetry(error.code) {
            // A retry the plan refuses now (a downgrade, the key suspended
            // or deleted since) is told that its first call rotated the
            // key, as a creation's is; failing, the refusal stands.
            if let idempotencyKey,
               let earlier = (try? storage.earlierRotation(id: id, organizationId: organizationId,
                                                           gracePeriodSeconds: gracePeriodSeconds,
                                                           idempotencyKey: idempotencyKey)) ?? nil
            {
                throw ServiceError(earlier)
            }
            throw error
        }
    }

    /// Stops the secrets rotations left working, whatever the plan (a
    /// suspended key's too): taking access away is always allowed. The
    /// answer has none left, so they are not read again.
    public func stopPreviousSecrets(id: String, organizationId: String, actor: String?) throws(ServiceError) -> ManagedKey {
        let organization = try organizationPlan(organizationId)
        let record = try store { () throws(KeyStoreError) in
            try storage.stopPreviousSecrets(id: id, organizationId: organizationId, actor: actor)
        }
        return try managed([record], organization: organization)[0]
    }

    /// Revoking and deleting are always allowed, whatever the plan.
    public func revokeKey(id: String, organizationId: String, actor: String?) throws(ServiceError) -> ManagedKey {
        let organization = try organizationPlan(organizationId)
        let record = try store { () throws(KeyStoreError) in try storage.revoke(id: id, organizationId: organizationId, actor: actor) }
        return try managed([record], organization: organization)[0]
    }

    public func deleteKey(id: String, organizationId: String, actor: String?) throws(ServiceError) {
        try store { () throws(KeyStoreError) in try storage.delete(id: id, organizationId: organizationId, actor: actor) }
    }

    /// Verification counts per UTC day, for one key or the whole organization.
    public func usage(organizationId: String, keyId: String?, from: Date, to: Date) throws(ServiceError) -> [UsageDay] {
        try store { () throws(KeyStoreError) in
            try storage.usageDays(organizationId: organizationId, keyId: keyId, from: from, to: to)
        }
    }

    /// The organization's audit log, newest first; with `keyId`, that
    /// key's entries alone (what its page in the dashboard shows): a
    /// deleted key's remain, and an id that names no key has none.
    public func auditLog(organizationId: String, keyId: String? = nil, cursor: String?, limit: Int?) throws(ServiceError)
        -> AuditPage
    {
        try store { () throws(KeyStoreError) in
            try storage.auditLog(organizationId: organizationId, keyId: keyId, cursor: cursor, limit: limit)
        }
    }

    /// Records with their status on the organization's plan, derived once for all of them.
    func managed(_ records: [KeyRecord], organization: OrganizationPlan, knownWithinLimit: Bool = false) throws(ServiceError)
        -> [ManagedKey]
    {
        let now = clock.now()
        let ranking = !knownWithinLimit && records.contains { $0.state(at: now) == .live }
        return managed(records, access: try access(organization, ranking: ranking), at: now)
    }

    /// The organization's access on its plan; `ranking` reads which of its
    /// live keys are within the plan's maximum (a read of the store).
    func access(_ organization: OrganizationPlan, ranking: Bool) throws(ServiceError) -> KeyAccess {
        try store { () throws(KeyStoreError) in
            try KeyAccess(catalog: catalog, plan: organization.plan, organizationId: organization.subscription.organizationId,
                          storage: storage, ranking: ranking)
        }
    }

    /// Records as the dashboard reads them: with their statuses, and the
    /// secrets rotations left working.
    func presented(_ records: [KeyRecord], organization: OrganizationPlan) throws(ServiceError) -> [ManagedKey] {
        try withPreviousSecrets(managed(records, organization: organization))
    }

    /// The keys with the secrets rotations left working, read for those
    /// they still open (not a revoked or expired key): one read a page,
    /// none when no key could have any.
    func withPreviousSecrets(_ keys: [ManagedKey]) throws(ServiceError) -> [ManagedKey] {
        let open = keys.filter { $0.status != .revoked && $0.status != .expired }.map(\.record.id)
        guard !open.isEmpty else { return keys }
        let secrets = try store { () throws(KeyStoreError) in try storage.previousSecrets(keyIds: open) }
        return Self.keys(keys, with: secrets)
    }

    /// The keys, each with its earlier secrets in `secrets` (by key id).
    static func keys(_ keys: [ManagedKey], with secrets: [String: [PreviousSecret]]) -> [ManagedKey] {
        guard !secrets.isEmpty else { return keys }
        return keys.map { key in
            guard let previous = secrets[key.record.id] else { return key }
            var key = key
            key.previousSecrets = previous
            return key
        }
    }

    func managed(_ records: [KeyRecord], access: KeyAccess, at now: Date) -> [ManagedKey] {
        records.map { record in
            ManagedKey(
                record: record, status: access.status(of: record, at: now),
                usableCapabilities: access.usableCapabilities(of: record), effectiveRateLimit: access.rateLimit(of: record))
        }
    }
}

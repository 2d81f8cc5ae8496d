import Foundation
import KeyStore
import PlanCatalog
import Synchronization

/// What verification keeps in memory between calls: key look-ups by digest
/// (misses included, so a flood of made-up keys costs one look-up each), and
/// each organization's plan, key access and stored request count.
///
/// All of it belongs to one ``ChangeToken``: the first verification after a
/// key, secret or subscription changes, in this process or another, finds a
/// new token and starts from an empty cache, so nothing is ever answered
/// from stale memory. A commit that only moved usage counters (a flush)
/// keeps the cache and has each organization's stored count read again.
final class VerificationCache: Sendable {
    /// A class, so a cache hit costs one retain rather than a copy of every field.
    final class Organization: Sendable {
        let plan: OrganizationPlan
        let access: KeyAccess
        /// When a key expiring changes which keys are within the plan's maximum.
        let validUntil: Date?
        /// The request quota, its current period and the requests stored for
        /// it, when the plan has one. Stored counts change only by a commit,
        /// which empties the cache; calendar arithmetic is too slow to repeat.
        let requests: (meter: String, quota: Quota, window: QuotaWindow, stored: Int)?
        /// The data version the stored count was read at.
        let countedAt: Int64

        init(plan: OrganizationPlan, access: KeyAccess, validUntil: Date?,
             requests: (meter: String, quota: Quota, window: QuotaWindow, stored: Int)?, countedAt: Int64) {
            self.plan = plan
            self.access = access
            self.validUntil = validUntil
            self.requests = requests
            self.countedAt = countedAt
        }

        /// The same organization with a fresh stored count.
        func recounted(_ stored: Int, at data: Int64) -> Organization {
            Organization(plan: plan, access: access, validUntil: validUntil,
                         requests: requests.map { ($0.meter, $0.quota, $0.window, stored) }, countedAt: data)
        }
    }

    /// A looked-up key, or a miss (`match` nil), boxed for the same reason.
    final class Key: Sendable {
        let match: KeyMatch?

        init(_ match: KeyMatch?) {
            self.match = match
        }
    }

    private struct State {
        var token: ChangeToken?
        var keys: [KeyDigest: Key] = [:]
        var organizations: [String: Organization] = [:]
    }

    /// Past this many entries the cache starts over; it holds what is in
    /// use, not every key ever presented.
    static let capacity = 200_000

    private let state = Mutex(State())

    /// Starts over when keys or subscriptions changed since the cache was
    /// filled; after a commit of counters only, moves to the new token.
    func prepare(for token: ChangeToken) {
        state.withLock { state in
            if state.token?.keys != token.keys {
                state = State(token: token)
            } else if state.token?.data != token.data {
                state.token = token
            }
        }
    }

    func lookup(_ digest: KeyDigest) -> Key? {
        state.withLock { $0.keys[digest] }
    }

    func organization(_ id: String, at now: Date) -> Organization? {
        state.withLock { state in
            guard let organization = state.organizations[id] else { return nil }
            if let validUntil = organization.validUntil, validUntil <= now { return nil }
            return organization
        }
    }

    // Each store keeps a value only if it was read under the current token:
    // a slow caller must not put old data into a cache that moved on.

    func store(_ key: Key, for digest: KeyDigest, token: ChangeToken) {
        update(token) { state in
            if state.keys.count >= Self.capacity { state.keys.removeAll(keepingCapacity: true) }
            state.keys[digest] = key
        }
    }

    func store(_ organization: Organization, for id: String, token: ChangeToken) {
        update(token) { state in
            if state.organizations.count >= Self.capacity { state.organizations.removeAll(keepingCapacity: true) }
            state.organizations[id] = organization
        }
    }

    private func update(_ token: ChangeToken, _ body: (inout State) -> Void) {
        state.withLock { state in
            if state.token == token { body(&state) }
        }
    }
}

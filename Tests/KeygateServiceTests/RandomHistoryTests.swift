import Foundation
import KeyStore
@testable import KeygateService
import KeygateTestSupport
import PlanCatalog
import Testing

/// Random histories of one organization (plan changes of every status,
/// creations, updates, rotations with and without grace, earlier secrets
/// stopped, revocations, deletions, time passing past expiries and grace
/// periods), seeded so
/// that a failure repeats, each step on either of two services sharing one
/// database, as two processes. After every few steps, everything that answers
/// about the organization's keys must agree: `keys.get` with the listing,
/// the statuses with the plan's rules (docs/CATALOG.md), `keys.options` and
/// the `keys.active` quota with the statuses, and verification with each
/// key's status, for its current secret and a rotated one, on both
/// services (a cache that missed the other's change answers stale), and
/// each key's earlier secrets with the deadlines the history gave them. Before
/// each plan change, `subscriptions.preview` must predict exactly what the
/// change then suspends, restores and takes away.
@Suite("Random histories: every answer agrees")
struct RandomHistoryTests {
    static let catalogs = ["plans.xml", "examples/booking-engine.xml", "examples/channel-manager.xml",
                           "examples/link-platform.xml"]

    /// A key as the history knows it.
    struct Known {
        var secret: String
        /// A rotated secret and when it stops (`nil`: at once).
        var previous: (secret: String, until: Date?)?
        /// The deadlines of every secret rotations left working, stopped or not.
        var deadlines: [Date] = []
        var deleted = false
    }

    @Test(arguments: Backend.available, catalogs)
    func everyAnswerAgreesAfterARandomHistory(_ backend: Backend, catalog name: String) throws {
        // Two services on one database, as two processes: each step goes to
        // either, and every check asks both, so a cache that missed another
        // process's change answers stale and fails.
        let processes = try ServiceFixture.processes(2, catalog: name, backend: backend)
        let catalog = processes[0].catalog
        var service = processes[0].service
        let clock = processes[0].clock
        func advance(by seconds: TimeInterval) { for process in processes { process.clock.advance(by: seconds) } }
        var events = 0
        let organization = "org_a"
        // Another seed plays other histories, to look for disagreements
        // the default ones miss (docs/TESTING.md).
        let seed = UInt64(ProcessInfo.processInfo.environment["KEYGATE_HISTORY_SEED"] ?? "")
        let base = seed ?? 2026
        var random = SeededRandom(seed: base &+ UInt64(Self.catalogs.firstIndex(of: name) ?? 0))
        // Draws for steps that change nothing (a rotation sent again), so
        // that they leave the history `random` plays as it was.
        var asides = SeededRandom(seed: 7_321 &+ UInt64(Self.catalogs.firstIndex(of: name) ?? 0))
        var keys: [String: Known] = [:]
        // Creation order: key ids are random, so an order by id would make each run's history another.
        var order: [String] = []
        var plan = catalog.defaultPlan
        var checks = 0
        // What the checks saw, so that a history that never reached a state cannot pass for one that did.
        var statuses: Set<KeyStatus> = []
        var rotatedChecked = (withinGrace: 0, after: 0)
        var stoppedWorking = 0
        var previewed = (suspended: 0, restored: 0)
        /// The events the history's changes must have written, in order: type and key (or keys).
        var expectedEvents: [String] = []
        /// Every creation sent, under its idempotency key, and the key it made.
        var creations: [(request: CreateKeyRequest, keyId: String?)] = []
        var retries = (told: 0, refused: 0)
        /// Rotations that went through under an idempotency key, to send again.
        var rotations: [(id: String, grace: Int, idempotencyKey: String)] = []
        var rotationsSentAgain = 0

        /// Every listed key's status and usable capabilities, by id.
        func listing(_ service: KeygateService) throws -> [String: ManagedKey] {
            var listed: [String: ManagedKey] = [:]
            var cursor: String?
            repeat {
                let page = try service.keys(organizationId: organization, status: nil, cursor: cursor, limit: 200)
                for key in page.keys { listed[key.record.id] = key }
                cursor = page.nextCursor
            } while cursor != nil
            return listed
        }

        /// Stops a key's earlier secrets: refused for a key no secret of
        /// which works; with none working, nothing is written.
        func stop(_ id: String) throws {
            let was = try service.key(id: id, organizationId: organization).status
            let stopped = try? service.stopPreviousSecrets(id: id, organizationId: organization, actor: nil)
            #expect((stopped != nil) == (was != .revoked && was != .expired), "step \(steps): \(id) \(was) stopped")
            guard stopped != nil else { return }
            if keys[id]!.deadlines.contains(where: { $0 > clock.now() }) {
                stoppedWorking += 1
                expectedEvents.append("key.previous_secrets_stopped \(id)")
            }
            keys[id]!.deadlines = []
            if let previous = keys[id]!.previous {
                keys[id]!.previous = (previous.secret, nil)
                // At once, on either process.
                let other = processes.randomElement(using: &random)!.service
                #expect(try other.verify(VerifyRequest(key: previous.secret)).outcome == .notFound,
                        "step \(steps): \(id)'s stopped secret")
            }
        }

        var steps = 0
        func step() throws {
            steps += 1
            service = processes.randomElement(using: &random)!.service
            let live = order.filter { keys[$0]?.deleted == false }
            let roll = Double.random(in: 0..<1, using: &random)
            if roll < 0.12 {
                let target = catalog.plans.randomElement(using: &random)!
                let status = [SubscriptionStatus.active, .active, .trialing, .pastDue, .canceled].randomElement(using: &random)!
                events += 1
                let inForce = status == .canceled ? catalog.defaultPlan : target
                // What the preview says the change does is what it does.
                let preview = try service.preview(organizationId: organization, plan: inForce.id)
                let before = try listing(service)
                let result = try service.setPlan(SetPlanRequest(
                    organizationId: organization, plan: target.id, eventId: "evt_\(events)",
                    occurredAt: clock.now().addingTimeInterval(TimeInterval(events)), status: status))
                // A change of the plan in force is an event, before what it does to the keys.
                if inForce.id != plan.id { expectedEvents.append("plan.changed ") }
                plan = inForce
                #expect(result.subscription.plan == plan.id, "the plan in force after \(target.id) \(status)")
                let after = try listing(service)
                let changed = { (from: KeyStatus, to: KeyStatus) in
                    order.filter { before[$0]?.status == from && after[$0]?.status == to }
                }
                previewed.suspended += preview.suspendedKeys.count
                previewed.restored += preview.restoredKeys.count
                #expect(preview.suspendedKeys == changed(.active, .suspended), "step \(steps): suspended as previewed")
                #expect(preview.restoredKeys == changed(.suspended, .active), "step \(steps): restored as previewed")
                let lost = order.compactMap { id -> LostCapabilities? in
                    guard let was = before[id], let now = after[id], was.status == .active, now.status == .active else { return nil }
                    let gone = was.usableCapabilities.filter { !now.usableCapabilities.contains($0) }
                    return gone.isEmpty ? nil : LostCapabilities(keyId: id, capabilities: gone)
                }
                #expect(Set(preview.lostCapabilities) == Set(lost), "step \(steps): capabilities lost as previewed")
                if !preview.suspendedKeys.isEmpty { expectedEvents.append("keys.suspended \(preview.suspendedKeys)") }
                if !preview.restoredKeys.isEmpty { expectedEvents.append("keys.restored \(preview.restoredKeys)") }
            } else if roll < 0.35 || live.isEmpty {
                func made(_ created: CreatedKey) {
                    keys[created.key.record.id] = Known(secret: created.secret.unredacted)
                    order.append(created.key.record.id)
                    expectedEvents.append("key.created \(created.key.record.id)")
                }
                if let sent = creations.indices.randomElement(using: &random), Int.random(in: 0..<3, using: &random) == 0 {
                    // A creation sent again, to either process, perhaps after
                    // the plan changed: never a second key.
                    let (request, keyId) = creations[sent]
                    do throws(ServiceError) {
                        let created = try service.createKey(request)
                        #expect(keyId == nil, "step \(steps): \(request.idempotencyKey ?? "") made a second key")
                        made(created)
                        creations[sent].keyId = created.key.record.id
                    } catch where error.code == .keyAlreadyCreated {
                        retries.told += 1
                        #expect(keyId != nil && error.parameters["keyId"] == keyId, "step \(steps): \(error)")
                    } catch {
                        // The plan refuses it now, as it would any creation:
                        // a creation it refused, never one that made a key.
                        retries.refused += 1
                        #expect(keyId == nil, "step \(steps): \(keyId ?? "") refused \(error), not named")
                    }
                } else {
                    let kind = catalog.kinds.randomElement(using: &random)!
                    let admitted = catalog.capabilities.map(\.id).filter(kind.capabilities.contains)
                    let chosen = Array(admitted.shuffled(using: &random).prefix(Int.random(in: 1...max(1, admitted.count), using: &random)))
                    let expiry: Date? = Bool.random(using: &random) && Bool.random(using: &random)
                        ? clock.now().addingTimeInterval(Double(Int.random(in: 1...3, using: &random)) * 86_400) : nil
                    let request = CreateKeyRequest(
                        organizationId: organization, name: "key \(keys.count)", kind: kind.id.rawValue,
                        capabilities: chosen.map(\.rawValue), expiresAt: expiry, rateLimit: plan.apiKeys?.rateLimit.maxPerMinute,
                        idempotencyKey: "create-\(creations.count)")
                    let created = try? service.createKey(request)
                    if let created { made(created) }
                    creations.append((request, created?.key.record.id))
                }
            } else {
                let id = live.randomElement(using: &random)!
                let action = Int.random(in: 0..<6, using: &random)
                switch action {
                case 0:
                    if let current = try? service.key(id: id, organizationId: organization),
                        let kind = catalog.kind(KindID(current.record.kind)) {
                        let admitted = catalog.capabilities.map(\.id).filter(kind.capabilities.contains)
                        let chosen = admitted.shuffled(using: &random).prefix(Int.random(in: 1...max(1, admitted.count), using: &random))
                        let updated = try? service.updateKey(id: id, organizationId: organization,
                                                             changes: KeyChanges(capabilities: chosen.map(\.rawValue)), actor: nil)
                        // An update that changed the key is an event; one that changed nothing is none.
                        if let updated, updated.record.capabilities != current.record.capabilities {
                            expectedEvents.append("key.updated \(id)")
                        }
                    }
                case 1:
                    if !rotations.isEmpty, Int.random(in: 0..<3, using: &asides) == 0 {
                        // A rotation sent again, to either process, whatever
                        // became of its key or the plan since: it rotates nothing.
                        let sent = rotations.randomElement(using: &asides)!
                        rotationsSentAgain += 1
                        #expect(throws: ServiceError(.keyAlreadyRotated, field: "idempotencyKey", ["keyId": sent.id]),
                                "step \(steps)") {
                            try processes.randomElement(using: &asides)!.service.rotateKey(
                                id: sent.id, organizationId: organization, gracePeriodSeconds: sent.grace, actor: nil,
                                idempotencyKey: sent.idempotencyKey)
                        }
                    }
                    let grace = [0, 600].randomElement(using: &random)!
                    let idempotencyKey = "rotate-\(steps)"
                    if let rotated = try? service.rotateKey(id: id, organizationId: organization, gracePeriodSeconds: grace,
                                                            actor: nil, idempotencyKey: idempotencyKey) {
                        rotations.append((id, grace, idempotencyKey))
                        expectedEvents.append("key.rotated \(id)")
                        keys[id]!.previous = (keys[id]!.secret, rotated.previousSecretExpiresAt)
                        if let until = rotated.previousSecretExpiresAt { keys[id]!.deadlines.append(until) }
                        // At once, on either process: the old secret answers as the new one while its grace runs.
                        let other = processes.randomElement(using: &random)!.service
                        let capability = catalog.capabilities.randomElement(using: &random)!.id.rawValue
                        let old = try other.verify(VerifyRequest(key: keys[id]!.previous!.secret, capability: capability)).outcome
                        let new = try other.verify(VerifyRequest(key: keys[id]!.secret, capability: capability)).outcome
                        if grace > 0 {
                            rotatedChecked.withinGrace += 1
                            #expect(old == new, "step \(steps): \(id)'s rotated secret within its grace")
                        } else {
                            rotatedChecked.after += 1
                            #expect(old == .notFound, "step \(steps): \(id)'s rotated secret without grace")
                        }
                        keys[id]!.secret = rotated.secret.unredacted
                        // Sometimes the rotation was for a leak of the secret it left working.
                        if grace > 0, Int.random(in: 0..<3, using: &random) == 0 { try stop(id) }
                    }
                case 2 where Bool.random(using: &random):
                    // Revoking a revoked key answers it as it is, and writes nothing.
                    let was = try? service.key(id: id, organizationId: organization).status
                    if (try? service.revokeKey(id: id, organizationId: organization, actor: nil)) != nil, was != .revoked {
                        expectedEvents.append("key.revoked \(id)")
                    }
                case 2:
                    try stop(id)
                case 3:
                    if (try? service.deleteKey(id: id, organizationId: organization, actor: nil)) != nil {
                        keys[id]!.deleted = true
                        expectedEvents.append("key.deleted \(id)")
                    }
                default:
                    // Time passes: grace periods end, keys expire.
                    advance(by: [60, 900, 86_400].randomElement(using: &random)!)
                }
            }
        }

        func check() throws {
            checks += 1
            for (number, process) in processes.enumerated() {
                try check(process.service, "check \(checks), process \(number)")
            }
        }

        func check(_ service: KeygateService, _ place: String) throws {
            var listed: [String: ManagedKey] = [:]
            var cursor: String?
            repeat {
                let page = try service.keys(organizationId: organization, status: nil, cursor: cursor, limit: 7)
                for key in page.keys { listed[key.record.id] = key }
                cursor = page.nextCursor
            } while cursor != nil
            let policy = plan.apiKeys
            let allowedKinds = Set(policy?.kinds.map(\.rawValue) ?? [])
            #expect(Set(listed.keys) == Set(order.filter { keys[$0]?.deleted == false }), "\(place): the keys made, no more")
            let counted = listed.values.filter { [.active, .suspended].contains($0.status) && allowedKinds.contains($0.record.kind) }
            let active = listed.values.filter { $0.status == .active }
            let maximum = policy == nil ? 0 : policy?.maxActiveKeys ?? .max
            #expect(active.count == min(counted.count, maximum), "\(place): active keys on \(plan.id)")
            #expect(try service.keyOptions(organizationId: organization).activeKeys == counted.count, "\(place)")
            if let keyCount = try service.quotas(organizationId: organization).quotas.first(where: { $0.meter.rawValue == "keys.active" }) {
                #expect(keyCount.used == counted.count, "\(place): keys.active")
            }
            for id in order {
                let known = keys[id]!
                let capability = catalog.capabilities.randomElement(using: &random)!.id.rawValue
                let verified = try service.verify(VerifyRequest(key: known.secret, capability: capability))
                if known.deleted {
                    #expect(listed[id] == nil && verified.outcome == .notFound, "\(place): deleted \(id)")
                    continue
                }
                let got = try service.key(id: id, organizationId: organization)
                statuses.insert(got.status)
                #expect(listed[id]?.status == got.status, "\(place): \(id) listed as got")
                // Earlier secrets show while they work: a revoked or expired key has none.
                let working = [.revoked, .expired].contains(got.status) ? [] : known.deadlines.filter { $0 > clock.now() }.sorted()
                #expect(got.previousSecrets.map(\.expiresAt) == working && listed[id]?.previousSecrets == got.previousSecrets,
                        "\(place): \(id)'s earlier secrets")
                #expect(Set(got.usableCapabilities).isSubset(of: Set(policy?.capabilities.map(\.rawValue) ?? [])))
                let expected: VerifyOutcome = switch got.status {
                case .revoked: .revoked
                case .expired: .expired
                case .suspended: .planSuspended
                case .active: got.usableCapabilities.contains(capability) ? .valid : .insufficientCapability
                }
                // Every key verifies far below its limit here, but a quota may run out.
                #expect(verified.outcome == expected || verified.outcome == .quotaExceeded,
                        "\(place): \(id) \(got.status) verifies as \(verified.outcome), \(capability)")
                if let previous = known.previous {
                    let old = try service.verify(VerifyRequest(key: previous.secret, capability: capability)).outcome
                    if let until = previous.until, clock.now() < until {
                        rotatedChecked.withinGrace += 1
                        #expect(old == verified.outcome, "\(place): \(id)'s rotated secret within its grace")
                    } else {
                        rotatedChecked.after += 1
                        #expect(old == .notFound, "\(place): \(id)'s rotated secret past its grace")
                    }
                }
            }
        }

        for number in 1...400 {
            try step()
            if number % 4 == 0 { try check() }
        }
        #expect(checks == 100)
        // The outbox holds exactly those events, in that order, read from either service.
        for process in processes {
            var written: [String] = []
            var outbox: [OutboxEvent] = []
            var cursor: String?
            repeat {
                let page = try process.service.events(organizationId: organization, cursor: cursor, limit: 200)
                outbox += page.events
                for event in page.events {
                    if case .array(let ids)? = event.data["keyIds"] {
                        written.append("\(event.type) \(ids.compactMap { if case .string(let id) = $0 { id } else { nil } })")
                    } else {
                        written.append("\(event.type) \(event.keyId ?? "")")
                    }
                }
                cursor = page.hasMore ? page.nextCursor : nil
            } while cursor != nil
            let first = zip(written, expectedEvents).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(written.count, expectedEvents.count)
            #expect(written == expectedEvents, """
                the outbox: \(written.count) events, \(expectedEvents.count) expected; from event \(first): \
                \(written.dropFirst(first).prefix(3)) where \(expectedEvents.dropFirst(first).prefix(3)) was expected
                """)
            // Read for some types alone, a few at a time: the same events, in the same order.
            let subsets: [Set<EventType>] = [
                [.keyCreated], [.planChanged, .keysSuspended, .keysRestored], [.keyUpdated, .keyRotated, .keyRevoked, .keyDeleted],
            ]
            for types in subsets {
                var kept: [String] = []
                var cursor: String?
                for _ in 0..<outbox.count + 2 {
                    let page = try process.service.events(organizationId: organization, types: types, cursor: cursor, limit: 3)
                    kept += page.events.map(\.id)
                    cursor = page.nextCursor
                    if !page.hasMore { break }
                }
                #expect(kept == outbox.filter { types.contains($0.type) }.map(\.id), "types \(types)")
            }
        }
        // What the default histories reach; another seed's may reach less,
        // which is no disagreement.
        guard seed == nil else { return }
        #expect(keys.count >= 10, "the history made keys")
        #expect(statuses == Set(KeyStatus.allCases), "every status was reached: \(statuses)")
        #expect(rotatedChecked.withinGrace > 0 && rotatedChecked.after > 0, "\(rotatedChecked)")
        #expect(stoppedWorking > 0, "earlier secrets were stopped while they worked")
        #expect(previewed.suspended > 0 && previewed.restored > 0, "\(previewed)")
        #expect(retries.told > 0 && retries.refused > 0, "creations sent again: \(retries)")
        #expect(rotationsSentAgain > 0)
    }
}

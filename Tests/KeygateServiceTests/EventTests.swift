import Foundation
import KeyStore
import KeygateJSON
@testable import KeygateService
import KeygateTestSupport
import Testing

/// The outbox a product polls to send emails and webhooks (`events.list`).
@Suite("Events")
struct EventTests {
    func all(_ fixture: ServiceFixture, _ organization: String? = "org_a") throws -> [OutboxEvent] {
        try fixture.service.events(organizationId: organization, cursor: nil, limit: 200).events
    }

    @Test(arguments: Backend.available) func keyChangesAreEventsInCommitOrderReadPageByPage(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        try fixture.move("org_b", to: "pro")
        let first = try fixture.create(name: "Zapier", kind: "owner_integration", capabilities: ["booking.read"])
        let id = first.key.record.id
        _ = try fixture.create("org_b", kind: "owner_integration", capabilities: ["booking.read"])
        _ = try fixture.service.rotateKey(id: id, organizationId: "org_a", gracePeriodSeconds: 60, actor: nil)
        _ = try fixture.service.reportLeaked([LeakedKeyReport(key: first.secret.unredacted, location: "https://paste.example/1")],
                                             action: .flag, actor: nil)
        let second = try fixture.create(name: "Partner", kind: "owner_integration", capabilities: ["booking.read"])
        _ = try fixture.service.reportLeaked([LeakedKeyReport(key: second.secret.unredacted, location: "a gist")],
                                             action: .revoke, actor: nil)
        try fixture.service.deleteKey(id: id, organizationId: "org_a", actor: nil)

        // Each organization's move to Pro is an event of its own (plan.changed), first.
        let events = try all(fixture).filter { $0.type != .planChanged }
        #expect(events.map(\.type)
            == [.keyCreated, .keyRotated, .keyLeakReported, .keyCreated, .keyRevoked, .keyLeakReported, .keyDeleted])
        #expect(events.allSatisfy { $0.organizationId == "org_a" })
        #expect(events[0].keyId == id && events[0].data["name"] == .string("Zapier"))
        #expect(events[0].data["hint"] == .string(first.key.record.hint))
        #expect(events[2].data["location"] == .string("https://paste.example/1") && events[2].data["action"] == .string("flagged"))
        #expect(events[4].data["reason"] == .string("reported leaked at a gist"))
        #expect(events[5].data["location"] == .string("a gist") && events[5].data["action"] == .string("revoked"))
        // No secret in any event.
        #expect(!"\(events)".contains(String(first.secret.unredacted.suffix(20))))

        // Page by page, each page from the cursor of the last: the same events, the same ids.
        var cursor: String?
        var paged: [OutboxEvent] = []
        repeat {
            let page = try fixture.service.events(organizationId: "org_a", cursor: cursor, limit: 4)
            paged += page.events
            cursor = page.nextCursor
            if !page.hasMore { break }
        } while true
        #expect(paged.filter { $0.type != .planChanged }.map(\.id) == events.map(\.id))
        // Polled again from the end: nothing new, and the cursor stays.
        let idle = try fixture.service.events(organizationId: "org_a", cursor: cursor, limit: 4)
        #expect(idle.events.isEmpty && idle.nextCursor == cursor && !idle.hasMore)
        // Of every organization: both, in commit order.
        let everyone = try all(fixture, nil).filter { $0.type != .planChanged }
        #expect(everyone.count == events.count + 1 && everyone[1].organizationId == "org_b")
        #expect(throws: ServiceError(.invalidCursor, field: "cursor")) {
            try fixture.service.events(organizationId: nil, cursor: "nope", limit: nil)
        }
    }

    /// A notifier that sends only some kinds of mail asks for those types:
    /// the same events, in the same order, as filtering every page itself,
    /// of one organization or of all, page by page from each page's cursor.
    @Test(arguments: Backend.withPooler) func aPageOfSomeTypesHoldsThoseAloneInCommitOrder(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        try fixture.move("org_b", to: "pro")
        for name in ["One", "Two", "Three"] {
            let key = try fixture.create(name: name, kind: "owner_integration", capabilities: ["booking.read"])
            _ = try fixture.create("org_b", kind: "owner_integration", capabilities: ["booking.read"])
            _ = try fixture.service.updateKey(id: key.key.record.id, organizationId: "org_a", changes: KeyChanges(name: name + "!"),
                                              actor: nil)
            _ = try fixture.service.revokeKey(id: key.key.record.id, organizationId: "org_a", actor: nil)
        }
        let wanted: Set<EventType> = [.keyCreated, .keyRevoked]

        for organization in ["org_a", nil] {
            let everything = try all(fixture, organization)
            let expected = everything.filter { wanted.contains($0.type) }
            #expect(expected.count == (organization == nil ? 9 : 6))
            let whole = try fixture.service.events(organizationId: organization, types: wanted, cursor: nil, limit: 100)
            #expect(whole.events.map(\.id) == expected.map(\.id) && !whole.hasMore)
            // Past the last event read: the next poll starts after it, even after events of other types.
            #expect(whole.nextCursor == everything.last?.cursor)

            for limit in [1, 2, 4] {
                var cursor: String?
                var paged: [OutboxEvent] = []
                var pages = 0
                repeat {
                    let page = try fixture.service.events(organizationId: organization, types: wanted, cursor: cursor, limit: limit)
                    #expect(page.events.count <= limit)
                    paged += page.events
                    cursor = page.nextCursor
                    pages += 1
                    if !page.hasMore { break }
                } while pages < 20
                #expect(paged.map(\.id) == expected.map(\.id), "limit \(limit)")
                let idle = try fixture.service.events(organizationId: organization, types: wanted, cursor: cursor, limit: limit)
                #expect(idle.events.isEmpty && idle.nextCursor == cursor && !idle.hasMore)
            }
        }
        // Every type is the unfiltered outbox; a type never written, none; no type, none.
        let every = try fixture.service.events(organizationId: nil, types: Set(EventType.all), cursor: nil, limit: 100)
        #expect(every.events.map(\.id) == (try all(fixture, nil)).map(\.id))
        let rare = try fixture.service.events(organizationId: nil, types: [.keyLeakReported], cursor: nil, limit: 100)
        #expect(rare.events.isEmpty && !rare.hasMore && rare.nextCursor == every.nextCursor)
        #expect(try fixture.service.events(organizationId: "org_a", types: [], cursor: nil, limit: 100).events.isEmpty)
    }

    /// A page of a rare type reads a bounded stretch of the outbox, not all
    /// of it: past the bound it comes back short (here empty), says there is
    /// more, and its cursor is where the stretch ended, so the next page
    /// goes on from there and no event is skipped or read twice.
    @Test(arguments: Backend.withPooler) func aPageOfARareTypeReadsABoundedStretchAndGoesOnFromItsEnd(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let common = 2 * EventPage.readBound + 10
        let written = try fixture.storage.transaction { unit in
            (0..<common).filter { number in
                (try? unit.step { storage in
                    try storage.appendEvent(NewEvent(type: .quotaThreshold, organizationId: number % 2 == 0 ? "org_a" : "org_b",
                                                     data: ["number": .integer(Int64(number))]))
                }) != nil
            }.count
        }
        #expect(written == common)
        try fixture.storage.appendEvent(NewEvent(type: .keysSuspended, organizationId: "org_a", data: ["keyIds": []]))
        let outbox = try (0..<12).reduce(into: [OutboxEvent]()) { events, _ in
            events += try fixture.service.events(organizationId: nil, cursor: events.last?.cursor, limit: 200).events
        }
        #expect(outbox.count == common + 1)

        var cursor: String?
        var pages: [EventPage] = []
        repeat {
            let page = try fixture.service.events(organizationId: nil, types: [.keysSuspended], cursor: cursor, limit: 10)
            pages.append(page)
            cursor = page.nextCursor
        } while pages.last!.hasMore && pages.count < 10
        #expect(pages.map(\.events.count) == [0, 0, 1])
        #expect(pages.map(\.hasMore) == [true, true, false])
        // Each empty page ended where its stretch did: the bound-th event, then twice that.
        #expect(pages[0].nextCursor == outbox[EventPage.readBound - 1].cursor)
        #expect(pages[1].nextCursor == outbox[2 * EventPage.readBound - 1].cursor)
        #expect(pages[2].events.map(\.id) == [outbox.last!.id])
        // A page of the common type is full, cut at its limit, not at the bound.
        let full = try fixture.service.events(organizationId: nil, types: [.quotaThreshold], cursor: nil, limit: 100)
        #expect(full.events.map(\.id) == outbox.prefix(100).map(\.id) && full.hasMore && full.nextCursor == outbox[99].cursor)
        // Of one organization, the stretch counts its events only: its 1,005 common ones are one bound and five.
        let mine = try fixture.service.events(organizationId: "org_a", types: [.keysSuspended], cursor: nil, limit: 10)
        let second = try fixture.service.events(organizationId: "org_a", types: [.keysSuspended], cursor: mine.nextCursor, limit: 10)
        #expect(mine.events.isEmpty && mine.hasMore)
        #expect(mine.nextCursor == outbox.filter { $0.organizationId == "org_a" }[EventPage.readBound - 1].cursor)
        #expect(second.events.map(\.id) == [outbox.last!.id] && !second.hasMore)
    }

    /// A reader that fell further behind than the retention is told that
    /// events it never read were deleted, rather than going on as if there
    /// had been none; a reader that had read them, of all organizations or
    /// of one, goes on, and one that starts over reads from the oldest kept.
    @Test(arguments: Backend.withPooler) func aReaderBehindTheRetentionIsToldItsEventsWereDeleted(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        try fixture.move("org_b", to: "pro")
        _ = try fixture.create(name: "Early", kind: "owner_integration", capabilities: ["booking.read"])
        func end(_ organization: String?) throws -> String? {
            try fixture.service.events(organizationId: organization, cursor: nil, limit: 200).nextCursor
        }
        let (everyone, mine, theirs) = (try end(nil), try end("org_a"), try end("org_b"))
        // One that read the first event only: org_a's plan change.
        let behind = try fixture.service.events(organizationId: nil, cursor: nil, limit: 1).nextCursor

        fixture.clock.advance(by: 31 * 86_400)
        let late = try fixture.create(name: "Late", kind: "owner_integration", capabilities: ["booking.read"])
        try fixture.service.sweepEvents()
        #expect(try all(fixture, nil).map(\.keyId) == [late.key.record.id])

        let expired = ServiceError(.cursorExpired, field: "cursor")
        #expect(throws: expired) { try fixture.service.events(organizationId: nil, cursor: behind, limit: 10) }
        #expect(throws: expired) { try fixture.service.events(organizationId: nil, types: [.keyCreated], cursor: behind, limit: 10) }
        // Of one organization, what counts is whether its own unread events went.
        #expect(throws: expired) { try fixture.service.events(organizationId: "org_a", cursor: behind, limit: 10) }
        #expect(throws: expired) { try fixture.service.events(organizationId: "org_b", cursor: behind, limit: 10) }
        let caughtUp = try fixture.service.events(organizationId: nil, cursor: everyone, limit: 10)
        #expect(caughtUp.events.map(\.keyId) == [late.key.record.id])
        #expect(try fixture.service.events(organizationId: "org_a", cursor: mine, limit: 10).events.map(\.keyId)
            == [late.key.record.id])
        #expect(try fixture.service.events(organizationId: "org_b", cursor: theirs, limit: 10).events.isEmpty)
        // Started over: from the oldest event kept.
        #expect(try fixture.service.events(organizationId: nil, cursor: nil, limit: 10).events.map(\.id) == caughtUp.events.map(\.id))
        // Pruned again, later: a mark only rises, and one at the end stays readable.
        fixture.clock.advance(by: 31 * 86_400)
        try fixture.service.sweepEvents()
        #expect(try fixture.service.events(organizationId: nil, cursor: caughtUp.nextCursor, limit: 10).events.isEmpty)
        #expect(throws: expired) { try fixture.service.events(organizationId: nil, cursor: everyone, limit: 10) }
    }

    /// A product that mirrors its customers' keys (a webhook to the
    /// integration's owner, a cache of its own) learns of an edit as of
    /// any other change: what changed, from what to what, in the
    /// transaction that made it. An update that changes nothing is none.
    @Test(arguments: Backend.available) func anUpdateIsAnEventNamingWhatItChangedAndOneChangingNothingIsNone(
        _ backend: Backend
    ) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let created = try fixture.create(name: "Zapier", kind: "owner_integration", capabilities: ["booking.read"], rateLimit: 60)
        let id = created.key.record.id
        let expiry = created.key.record.createdAt.addingTimeInterval(86_400 * 30)
        _ = try fixture.service.updateKey(id: id, organizationId: "org_a", changes: KeyChanges(
            name: "Zapier (bookings)", capabilities: ["booking.read", "booking.create"], rateLimit: 30, expiresAt: expiry), actor: "ana")
        // The same values again, and an empty update: nothing changed, nothing to tell.
        _ = try fixture.service.updateKey(id: id, organizationId: "org_a", changes: KeyChanges(name: "Zapier (bookings)", rateLimit: 30),
                                          actor: nil)
        _ = try fixture.service.updateKey(id: id, organizationId: "org_a", changes: KeyChanges(), actor: nil)
        _ = try fixture.service.updateKey(id: id, organizationId: "org_a", changes: KeyChanges(allowedOrigins: ["https://shop.example"]),
                                          actor: nil)

        let events = try all(fixture)
        #expect(events.map(\.type) == [.planChanged, .keyCreated, .keyUpdated, .keyUpdated])
        let first = events[2]
        #expect(first.keyId == id && first.data["name"] == .string("Zapier (bookings)") && first.data["hint"] == .string(created.key.record.hint))
        #expect(first.data["changes"] == [
            "name": ["from": "Zapier", "to": "Zapier (bookings)"],
            "capabilities": ["from": ["booking.read"], "to": ["booking.read", "booking.create"]],
            "rateLimit": ["from": 60, "to": 30],
            "expiresAt": ["from": created.key.record.expiresAt.map { .string(RFC3339.string($0)) } ?? .null,
                          "to": .string(RFC3339.string(expiry))],
        ], "\(first.data)")
        #expect(events[3].data["changes"] == ["allowedOrigins": ["from": [], "to": ["https://shop.example"]]], "\(events[2].data)")
        // As the audit log has it, where who made the change is kept.
        let audit = try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: 10).entries
        #expect(audit.filter { $0.action == .keyUpdated }.count == 2)
    }

    @Test(arguments: Backend.available) func aPlanChangeRecordsTheKeysItSuspendsAndRestoresOnce(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let keys = try (0..<3).map { _ in try fixture.create(kind: "owner_integration", capabilities: ["booking.read"]) }
        try fixture.move(to: "free")
        try fixture.move(to: "free")
        try fixture.move(to: "pro")
        let changes = try all(fixture).filter { $0.type == .keysSuspended || $0.type == .keysRestored }
        #expect(changes.map(\.type) == [.keysSuspended, .keysRestored])
        let ids = JSON.array(keys.map { .string($0.key.record.id) })
        #expect(changes[0].data["keyIds"] == ids && changes[1].data["keyIds"] == ids)
        #expect(changes[0].data["plan"] == .string("free") && changes[0].data["previousPlan"] == .string("pro"))
    }

    /// The plan in force is Keygate's to say (a canceled subscription is on
    /// the default plan whatever billing named): each change of it is an
    /// event, before what it does to the keys; an event that leaves it as
    /// it was (another status, the same plan; or stale) is none.
    @Test(arguments: Backend.available) func aChangeOfThePlanInForceIsAnEventBeforeWhatItDoesToTheKeys(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        try fixture.move(to: "pro", status: .pastDue)
        // Billed for Pro still, but canceled: on the default plan.
        try fixture.move(to: "pro", status: .canceled)
        try fixture.move(to: "pro", status: .canceled)
        // One dated before the last applied changes nothing.
        let stale = try fixture.service.setPlan(SetPlanRequest(
            organizationId: "org_a", plan: "starter", eventId: "evt_old", occurredAt: Date(timeIntervalSince1970: 0)))
        #expect(stale.reason == .staleEvent)

        let events = try all(fixture)
        #expect(events.map(\.type) == [.planChanged, .keyCreated, .planChanged, .keysSuspended])
        #expect(events.allSatisfy { $0.type != .planChanged || $0.keyId == nil })
        #expect(events[0].data == ["billedPlan": "pro", "plan": "pro", "previousPlan": "free", "status": "active"])
        #expect(events[2].data == ["billedPlan": "pro", "plan": "free", "previousPlan": "pro", "status": "canceled"])
        #expect(events[3].data["keyIds"] == .array([.string(key.key.record.id)]))
    }

    @Test(arguments: Backend.available) func expiryEventsAppearOnceWhenDueAndOldEventsArePruned(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let start = fixture.clock.now()
        let expiring = try fixture.create(name: "Short", kind: "owner_integration", capabilities: ["booking.read"],
                                          expiresAt: start.addingTimeInterval(10 * 86_400))
        let revoked = try fixture.create(name: "Gone", kind: "owner_integration", capabilities: ["booking.read"],
                                         expiresAt: start.addingTimeInterval(10 * 86_400))
        _ = try fixture.service.revokeKey(id: revoked.key.record.id, organizationId: "org_a", actor: nil)
        func timed() throws -> [OutboxEvent] { try all(fixture).filter { $0.type == .keyExpiring || $0.type == .keyExpired } }

        #expect(try fixture.service.sweepEvents() == 0)
        fixture.clock.advance(by: 4 * 86_400)
        #expect(try fixture.service.sweepEvents() == 1)
        #expect(try fixture.service.sweepEvents() == 0)
        fixture.clock.advance(by: 7 * 86_400)
        #expect(try fixture.service.sweepEvents() == 1)
        #expect(try fixture.service.sweepEvents() == 0)
        let events = try timed()
        #expect(events.map(\.type) == [.keyExpiring, .keyExpired])
        #expect(events.allSatisfy { $0.keyId == expiring.key.record.id })
        #expect(events[0].data["expiresAt"] == .string(RFC3339.string(start.addingTimeInterval(10 * 86_400))))

        // Thirty days on, everything is pruned and nothing comes back.
        fixture.clock.advance(by: 31 * 86_400)
        #expect(try fixture.service.sweepEvents() == 0)
        #expect(try all(fixture).isEmpty)
    }

    /// A threshold is reached at the first whole use at or past its
    /// share of the limit: 80% of 7 is 5.6, so the 6th use crosses it, not
    /// the 5th; 100% is the 7th.
    @Test func aThresholdOfALimitNotAMultipleOfFiveIsReachedAtTheNextWholeUse() {
        #expect(NewEvent.crossedThresholds(limit: 7, before: 4, after: 5) == [])
        #expect(NewEvent.crossedThresholds(limit: 7, before: 5, after: 6) == [80])
        #expect(NewEvent.crossedThresholds(limit: 7, before: 6, after: 7) == [100])
        #expect(NewEvent.crossedThresholds(limit: 7, before: 0, after: 9) == [80, 100])
    }

    /// A key expiring exactly a notice away is due its notice at that
    /// sweep, not at the next one.
    @Test(arguments: Backend.available) func aKeyExpiringExactlyANoticeAwayGetsItsNotice(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        _ = try fixture.create(name: "Week", kind: "owner_integration", capabilities: ["booking.read"],
                               expiresAt: fixture.clock.now().addingTimeInterval(EventSchedule().expiryNotice + 60))
        fixture.clock.advance(by: 59)
        #expect(try fixture.service.sweepEvents() == 0)
        fixture.clock.advance(by: 1)
        #expect(try fixture.service.sweepEvents() == 1)
    }

    /// Basic on the booking engine: 10,000 requests a day, 120 a minute at most.
    @Test(arguments: Backend.available) func aQuotaCrossing80And100PercentIsAnEventOncePerPeriod(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/booking-engine.xml", backend: backend)
        let key = try fixture.create(kind: "widget", capabilities: ["read"], rateLimit: 120)
        func verify(cost: Int) throws -> VerifyOutcome {
            fixture.clock.advance(by: 61)
            return try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "read", cost: cost)).outcome
        }
        for _ in 0..<66 { #expect(try verify(cost: 120) == .valid) }   // 7,920: below 80%
        try fixture.service.flushUsage()
        #expect(try all(fixture).filter { $0.type == .quotaThreshold }.isEmpty)
        #expect(try verify(cost: 120) == .valid)                       // 8,040
        try fixture.service.flushUsage()
        for _ in 0..<16 { #expect(try verify(cost: 120) == .valid) }   // 9,960
        #expect(try verify(cost: 40) == .valid)                        // 10,000
        try fixture.service.flushUsage()
        #expect(try verify(cost: 1) == .quotaExceeded)
        try fixture.service.flushUsage()
        let thresholds = try all(fixture).filter { $0.type == .quotaThreshold }
        #expect(thresholds.compactMap { $0.data["threshold"] } == [.integer(80), .integer(100)])
        #expect(thresholds.allSatisfy { $0.data["meter"] == .string("api.requests") && $0.data["limit"] == .integer(10_000) })

        // A recorded meter crosses its thresholds through usage.record, once however often it is replayed.
        for number in 0..<2 {
            _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "reservations", amount: 160,
                                                idempotencyKey: "r\(number % 1)")
        }
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "reservations", amount: 40, idempotencyKey: "r2")
        let recorded = try all(fixture).filter { $0.type == .quotaThreshold && $0.data["meter"] == .string("reservations") }
        #expect(recorded.compactMap { $0.data["threshold"] } == [.integer(80), .integer(100)])
    }
}

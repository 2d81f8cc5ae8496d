import Foundation
import KeyStore
import KeygateService
import KeygateTestSupport
import Testing

/// Folding usage and pruning events act on every process's data and
/// cannot be undone: each process folds and prunes by the most any process
/// on the store keeps, as they recorded it lately, never by less.
@Suite("Settings every process on a store keeps")
struct SettingsAgreementTests {
    static let window: TimeInterval = 180
    static let day: TimeInterval = 86_400

    static func record(_ service: KeygateService, usage days: Int?, events: TimeInterval, process: Int32) throws
        -> KeygateService.SettingsInUse
    {
        try service.recordSettings(KeygateService.ProcessSettings(catalogSource: "plans.xml", usageRetentionDays: days,
                                                                  eventRetention: events * day),
                                   host: "web", processId: process, within: window)
    }

    @Test(arguments: Backend.available) func foldingAndPruningKeepTheMostAnyProcessKeeps(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let service = fixture.service
        var first = try Self.record(service, usage: 7, events: 30, process: 1)
        #expect(first.usageRetentionDays == 7)
        #expect(first.eventRetention == 30 * Self.day)
        #expect(first.otherUsageRetentions.isEmpty && first.otherEventRetentions.isEmpty && first.otherCatalogs.isEmpty)

        let second = try Self.record(service, usage: 90, events: 60, process: 2)
        #expect(second.usageRetentionDays == 90)
        #expect(second.eventRetention == 60 * Self.day)
        #expect(second.otherUsageRetentions.map(\.value) == ["7"])
        #expect(second.otherEventRetentions.map(\.value) == ["\(Int(30 * Self.day))"])

        first = try Self.record(service, usage: 7, events: 30, process: 1)
        #expect(first.usageRetentionDays == 90, "the most any process keeps")
        #expect(first.eventRetention == 60 * Self.day)
        #expect(first.otherUsageRetentions.map(\.processId) == [2])
        #expect(first.otherCatalogs.isEmpty, "the same catalog")

        let third = try Self.record(service, usage: nil, events: 30, process: 3)
        #expect(third.usageRetentionDays == nil)
        first = try Self.record(service, usage: 7, events: 30, process: 1)
        #expect(first.usageRetentionDays == nil, "a process keeping every day: nothing is folded")

        // Only the first goes on recording: three minutes on, its own again.
        fixture.clock.advance(by: Self.window + 1)
        first = try Self.record(service, usage: 7, events: 30, process: 1)
        #expect(first.usageRetentionDays == 7)
        #expect(first.eventRetention == 30 * Self.day)
        #expect(first.otherUsageRetentions.isEmpty && first.otherEventRetentions.isEmpty)
    }

    /// Idempotency keys are forgotten by the most days any process keeps,
    /// apart from how much usage each keeps by day.
    @Test(arguments: Backend.available) func forgettingIdempotencyKeysKeepsTheMostAnyProcessKeeps(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        func record(_ days: Int?, process: Int32) throws -> KeygateService.SettingsInUse {
            try fixture.service.recordSettings(
                KeygateService.ProcessSettings(catalogSource: "plans.xml", usageRetentionDays: 7, idempotencyRetentionDays: days),
                host: "web", processId: process, within: Self.window)
        }
        #expect(try record(7, process: 1).idempotencyRetentionDays == 7)
        let second = try record(30, process: 2)
        #expect(second.idempotencyRetentionDays == 30)
        #expect(second.otherIdempotencyRetentions.map(\.value) == ["7"] && second.longerIdempotencyRetentions.isEmpty)
        let first = try record(7, process: 1)
        #expect(first.idempotencyRetentionDays == 30, "the most any process keeps")
        #expect(first.longerIdempotencyRetentions.map(\.processId) == [2])
        #expect(first.usageRetentionDays == 7 && first.otherUsageRetentions.isEmpty, "usage by day is its own setting")
        _ = try record(nil, process: 3)
        #expect(try record(7, process: 1).idempotencyRetentionDays == nil, "a process remembering for good: nothing is forgotten")
    }

    /// Audit entries are pruned by the most days any process keeps, apart
    /// from how long each remembers idempotency keys.
    @Test(arguments: Backend.available) func pruningTheAuditLogKeepsTheMostAnyProcessKeeps(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        func record(_ days: Int?, process: Int32) throws -> KeygateService.SettingsInUse {
            try fixture.service.recordSettings(
                KeygateService.ProcessSettings(catalogSource: "plans.xml", idempotencyRetentionDays: 7, auditRetentionDays: days),
                host: "web", processId: process, within: Self.window)
        }
        #expect(try record(90, process: 1).auditRetentionDays == 90)
        let second = try record(365, process: 2)
        #expect(second.auditRetentionDays == 365)
        #expect(second.otherAuditRetentions.map(\.value) == ["90"] && second.longerAuditRetentions.isEmpty)
        let first = try record(90, process: 1)
        #expect(first.auditRetentionDays == 365, "the most any process keeps")
        #expect(first.longerAuditRetentions.map(\.processId) == [2])
        #expect(first.idempotencyRetentionDays == 7 && first.otherIdempotencyRetentions.isEmpty,
                "idempotency keys are their own setting")
        _ = try record(nil, process: 3)
        let forGood = try record(90, process: 1)
        #expect(forGood.auditRetentionDays == nil, "a process keeping the log for good: nothing is pruned")
        #expect(forGood.longerAuditRetentions.map(\.value).sorted() == ["365", "all"])
    }

    /// A process that records less often than the others counts for as
    /// many of its own intervals as they look back of theirs: between two
    /// of its records, what it keeps is still kept.
    @Test(arguments: Backend.available) func aProcessThatRecordsLessOftenCountsForAsManyOfItsOwnIntervals(
        _ backend: Backend
    ) throws {
        let fixture = try ServiceFixture(backend: backend)
        func record(usage days: Int, sweep: Int?, process: Int32) throws -> KeygateService.SettingsInUse {
            try fixture.service.recordSettings(
                KeygateService.ProcessSettings(catalogSource: "plans.xml", usageRetentionDays: days, sweepInterval: sweep),
                host: "web", processId: process, within: TimeInterval(3 * (sweep ?? 60)))
        }
        _ = try record(usage: 90, sweep: 600, process: 1)
        fixture.clock.advance(by: 400)
        let fast = try record(usage: 7, sweep: 60, process: 2)
        #expect(fast.usageRetentionDays == 90, "seen 400 s after its record, within three of its 600 s")
        #expect(fast.lookBack == 1_800)
        #expect(fast.otherSweepIntervals.map(\.value) == ["600"])
        let unaware = try record(usage: 7, sweep: nil, process: 3)
        #expect(unaware.usageRetentionDays == 7, "a process that records no interval looks back its own window")
        #expect(unaware.lookBack == 180)

        fixture.clock.advance(by: 1_401)
        let alone = try record(usage: 7, sweep: 60, process: 2)
        #expect(alone.usageRetentionDays == 7, "three of its intervals past: it no longer runs")
        #expect(alone.lookBack == 180)

        // However rarely a process records, a day is all a store keeps.
        _ = try record(usage: 90, sweep: 100_000, process: 4)
        #expect(try record(usage: 7, sweep: 60, process: 2).lookBack == SettingInUse.retention)
    }

    /// A value a later keygate may write, in a form this one cannot read,
    /// is reported but changes nothing.
    @Test func aValueThisVersionCannotReadChangesNothing() throws {
        let fixture = try ServiceFixture()
        _ = try fixture.storage.recordSettings([
            SettingInUse(name: KeygateService.SettingName.usageRetention, value: "13 months", host: "next", processId: 9),
            SettingInUse(name: KeygateService.SettingName.eventRetention, value: "P1Y", host: "next", processId: 9),
        ], within: Self.window)
        let settings = try Self.record(fixture.service, usage: 7, events: 30, process: 1)
        #expect(settings.usageRetentionDays == 7)
        #expect(settings.eventRetention == 30 * Self.day)
        #expect(settings.otherUsageRetentions.map(\.value) == ["13 months"])
    }

    /// Versions are answered to a process that records its own, each other
    /// one recorded lately, and to no other.
    @Test func otherVersionsAreAnsweredToAProcessThatRecordsItsOwn() throws {
        let fixture = try ServiceFixture()
        func record(_ version: String?, process: Int32) throws -> KeygateService.SettingsInUse {
            try fixture.service.recordSettings(KeygateService.ProcessSettings(catalogSource: "plans.xml", version: version),
                                               host: "web", processId: process, within: Self.window)
        }
        #expect(try record("0.5.0", process: 1).otherVersions.isEmpty)
        #expect(try record("0.6.0", process: 2).otherVersions.map(\.value) == ["0.5.0"])
        #expect(try record("0.6.0", process: 3).otherVersions.map(\.processId) == [1])
        #expect(try record(nil, process: 4).otherVersions.isEmpty)
    }
}

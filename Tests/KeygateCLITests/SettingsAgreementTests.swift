import Foundation
@testable import KeygateCLI
import KeyStore
import KeygateService
import Testing

/// How `keygate status` groups what the processes recorded: a setting with
/// two values is a disagreement, its values newest first, whatever the
/// processes' order; a setting every process records alike is not one.
@Suite("Settings the processes agree on")
struct SettingsAgreementTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A setting recorded `seconds` after `start`.
    func setting(_ name: String, _ value: String, by process: Int32, at seconds: TimeInterval) -> SettingInUse {
        SettingInUse(name: name, value: value, host: "web-\(process)", processId: process,
                     seenAt: start.addingTimeInterval(seconds))
    }

    /// The settings as the stores return them: most recent first.
    func agreement(_ settings: [SettingInUse]) -> SettingsAgreement {
        let newestFirst = settings.sorted { $0.seenAt > $1.seenAt }
        return SettingsAgreement(newestFirst, processes: ProcessRecord.all(in: newestFirst))
    }

    @Test func aDisagreementListsEachValueOnceTheLastRecordedFirst() {
        let usage = KeygateService.SettingName.usageRetention
        let found = agreement([
            setting(usage, "all", by: 1, at: 0),
            setting(usage, "7", by: 2, at: 5),
            setting(usage, "all", by: 3, at: 3),
        ])
        #expect(found.disagreements.map(\.name) == [usage])
        #expect(found.disagreements.first?.values == ["7", "all"])
        #expect(found.disagreements.first?.consequence
            == "processes keep usage by day for different numbers of days (7, all): none folds usage while one keeps every day")

        // The process keeping every day records again: its value leads.
        let later = agreement([
            setting(usage, "all", by: 1, at: 9),
            setting(usage, "7", by: 2, at: 5),
        ])
        #expect(later.disagreements.first?.values == ["all", "7"])
    }

    /// Differing audit retentions: what each process prunes by, the most
    /// any keeps, or nothing while one keeps the log for good.
    @Test func differingAuditRetentionsSayWhatEachPrunesBy() {
        let audit = KeygateService.SettingName.auditRetention
        let days = agreement([setting(audit, "90", by: 1, at: 0), setting(audit, "365", by: 2, at: 1)])
        #expect(days.disagreements.first?.consequence
            == "processes keep audit entries for different numbers of days (365, 90): each prunes by the most any keeps, 365 days")
        let forGood = agreement([setting(audit, "90", by: 1, at: 0), setting(audit, "all", by: 2, at: 1)])
        #expect(forGood.disagreements.first?.consequence
            == "processes keep audit entries for different numbers of days (all, 90): none prunes the audit log while one keeps it for good")
    }

    @Test func disagreementsComeInOrderOfNameAndAgreedSettingsAreNotAmongThem() {
        let names = KeygateService.SettingName.self
        let found = agreement([
            setting(names.version, "0.6.0", by: 1, at: 1),
            setting(names.version, "0.7.0", by: 2, at: 2),
            setting(names.eventRetention, "2592000", by: 1, at: 3),
            setting(names.eventRetention, "7776000", by: 2, at: 4),
            setting(names.sweepInterval, "60", by: 1, at: 5),
            setting(names.sweepInterval, "60", by: 2, at: 6),
        ])
        #expect(found.disagreements.map(\.name) == [names.eventRetention, names.version].sorted())
        #expect(found.disagreements.map(\.values) == [["7776000", "2592000"], ["0.7.0", "0.6.0"]])
        #expect(!found.isSound)
        #expect(agreement([setting(names.sweepInterval, "60", by: 1, at: 5), setting(names.sweepInterval, "60", by: 2, at: 6)])
            .isSound)
    }
}

import Foundation
import GRDB
import Testing
@testable import KeyStore

/// Inside a unit of work, a store write that fails partway leaves nothing
/// behind, whether it is the command's first write (undone by rolling back
/// to the command's own savepoint) or a later one (undone by a savepoint of
/// its own), and a command that catches the failure goes on writing.
@Suite("A failed write inside a command")
struct CommandWriteTests {
    /// A file store whose audit log refuses entries by the actor `refused`,
    /// so that a creation fails after writing its key and its secret.
    private func refusingStore(_ directory: URL) throws -> StoreFixture {
        let store = try StoreFixture(database: try KeyDatabase.open(path: directory.appending(path: "k.sqlite").path))
        try store.database.writeWithoutTransaction { db in
            try db.execute(sql: """
                CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.audit_entry WHEN NEW.actor = 'refused'
                BEGIN SELECT RAISE(ABORT, 'refused'); END
                """)
        }
        return store
    }

    private func key(_ store: StoreFixture, _ name: String, refused: Bool = false) -> NewKey {
        var key = store.newKey(name: name)
        if refused { key.actor = "refused" }
        return key
    }

    /// What the database holds: key names, secrets and change events.
    private func contents(_ store: StoreFixture) throws -> (names: [String], secrets: Int, events: Int) {
        try store.database.read { db in
            (try String.fetchAll(db, sql: "SELECT name FROM api_key ORDER BY seq"),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM key_secret") ?? -1,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM change_event WHERE key_id IS NOT NULL") ?? -1)
        }
    }

    @Test func aFailedFirstWriteIsUndoneAndTheCommandGoesOn() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try refusingStore(directory)
        let failures = try #require(try store.storage.transaction { transaction in
            try? transaction.step { bound in
                var failures: [KeyStoreError.Code] = []
                // Refused twice in a row, then a write that stands: the
                // command is back at its start after each failure.
                for name in ["refused 1", "refused 2"] {
                    do {
                        _ = try bound.create(key(store, name, refused: true), limit: nil)
                    } catch let error as KeyStoreError {
                        failures.append(error.code)
                    }
                }
                _ = try bound.create(key(store, "kept"), limit: nil)
                return failures
            }
        }?.flatMap { $0 })
        #expect(failures.count == 2, "each refused creation threw")
        let held = try contents(store)
        #expect(held.names == ["kept"])
        #expect(held.secrets == 1 && held.events == 1)
    }

    @Test func aFailedLaterWriteIsUndoneAndTheEarlierOneStays() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try refusingStore(directory)
        let failed = try store.storage.transaction { transaction in
            try? transaction.step { bound in
                _ = try bound.create(key(store, "first"), limit: nil)
                do {
                    _ = try bound.create(key(store, "refused", refused: true), limit: nil)
                    return false
                } catch {
                    _ = try bound.create(key(store, "last"), limit: nil)
                    return true
                }
            }
        }
        #expect(failed == true)
        let held = try contents(store)
        #expect(held.names == ["first", "last"])
        #expect(held.secrets == 2 && held.events == 2)
    }

    /// A command that fails after its writes still loses all of them.
    @Test func aFailedCommandLosesEveryWriteItMade() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try refusingStore(directory)
        struct Abandoned: Error {}
        let outcomes = try #require(try store.storage.transaction { transaction in
            [
                (try? transaction.step { bound in
                    _ = try bound.create(key(store, "abandoned"), limit: nil)
                    _ = try bound.create(key(store, "abandoned too"), limit: nil)
                    throw Abandoned()
                }) != nil,
                (try? transaction.step { bound in _ = try bound.create(key(store, "kept"), limit: nil) }) != nil,
            ]
        })
        #expect(outcomes == [false, true])
        #expect(try contents(store).names == ["kept"])
    }
}

import Foundation
import KeygateTestSupport
import Testing
@testable import KeyStore

/// A key id of another organization behaves exactly like one that does not exist.
@Suite("Isolation between organizations")
struct IsolationTests {
    @Test(arguments: Backend.withPooler) func everyOperationOnAnotherOrganizationsKeyAnswersNotFound(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let theirs = try store.create(store.newKey(organization: "org_b")).key
        let notFound = KeyStoreError(.notFound, field: "keyId")
        for id in [theirs.id, "key_doesnotexist000000"] {
            #expect(throws: notFound) { try store.storage.key(id: id, organizationId: "org_a") }
            #expect(throws: notFound) {
                try store.storage.update(id: id, organizationId: "org_a", changes: KeyChanges(name: "mine"), actor: nil)
            }
            #expect(throws: notFound) {
                try store.storage.rotate(id: id, organizationId: "org_a", gracePeriodSeconds: 0, actor: nil)
            }
            #expect(throws: notFound) { try store.storage.revoke(id: id, organizationId: "org_a", actor: nil) }
            #expect(throws: notFound) { try store.storage.delete(id: id, organizationId: "org_a", actor: nil) }
        }
        #expect(try store.storage.keys(organizationId: "org_a", filter: .all, cursor: nil, limit: nil).keys.isEmpty)
        #expect(try store.storage.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries.isEmpty)
        let untouched = try store.storage.key(id: theirs.id, organizationId: "org_b")
        #expect(untouched == theirs)
    }
}

import Foundation
import KeyStore
import KeygateRPC
import Testing

@Suite("rpc.discover")
struct DiscoveryTests {
    @Test func theOpenRPCDocumentListsEveryMethodWithSchemasFromItsTypes() throws {
        let rpc = try RPCFixture()
        let document = try #require(try rpc.call(#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}"#).result)
        #expect((document["openrpc"] as? String)?.hasPrefix("1.") == true)
        let methods = try #require(document["methods"] as? [[String: Any]])
        let names = methods.compactMap { $0["name"] as? String }
        let contract = [
            "catalog.plans", "catalog.capabilities", "subscriptions.get", "subscriptions.setPlan", "subscriptions.preview",
            "subscriptions.quotas", "keys.create", "keys.options", "keys.list", "keys.get", "keys.update", "keys.rotate",
            "keys.stopPreviousSecrets", "keys.revoke", "keys.delete", "keys.import", "keys.reportLeaked", "keys.verify", "usage.record", "usage.get", "audit.list", "events.list",
            "organizations.erase", "health.check", "rpc.discover",
        ]
        #expect(Set(names) == Set(contract))

        let create = try #require(methods.first { $0["name"] as? String == "keys.create" })
        let params = try #require(create["params"] as? [[String: Any]])
        let required = Set(params.filter { $0["required"] as? Bool == true }.compactMap { $0["name"] as? String })
        #expect(required == ["organizationId", "name", "kind", "capabilities"])
        let expires = try #require(params.first { $0["name"] as? String == "expiresAt" }?["schema"] as? [String: Any])
        #expect(expires["format"] as? String == "date-time")
        #expect(params.contains { $0["name"] as? String == "locale" })

        let result = try #require((create["result"] as? [String: Any])?["schema"] as? [String: Any])
        let key = try #require((result["properties"] as? [String: Any])?["key"] as? [String: Any])
        let keyProperties = try #require(key["properties"] as? [String: Any])
        #expect(keyProperties["hint"] != nil && keyProperties["lastUsedText"] != nil)
        #expect(((keyProperties["capabilities"] as? [String: Any])?["items"] as? [String: Any])?["type"] as? String == "string")

        // A list param checked for at least one value says so, and a closed set names its values.
        let events = try #require(methods.first { $0["name"] as? String == "events.list" }?["params"] as? [[String: Any]])
        let types = try #require(events.first { $0["name"] as? String == "types" }?["schema"] as? [String: Any])
        #expect(types["minItems"] as? Int == 1 && events.first { $0["name"] as? String == "types" }?["required"] as? Bool == false)
        let allowed = (types["items"] as? [String: Any])?["enum"] as? [String]
        #expect(allowed == EventType.all.map(\.rawValue))
    }
}

import Foundation
import GRDB
import KeyStore
import Testing

/// Issue 8, several processes on one database: mixed work from N processes
/// at once; no SQLITE_BUSY reaches a caller, no counter loses an increment,
/// billing events apply once.
@Suite("Several processes working at once", .serialized)
struct ConcurrentProcessesTests {
    @Test func mixedWorkFromThreeProcessesLosesNothingAndAppliesEventsOnce() throws {
        let first = try ServeProcess()
        _ = try first.result("subscriptions.setPlan", ["organizationId": "org_shared", "plan": "pro", "eventId": "setup", "occurredAt": "2026-11-01T00:00:00Z"])
        let shared = try first.result("keys.create", ["organizationId": "org_shared", "name": "shared", "kind": "owner_integration", "capabilities": ["booking.read"], "rateLimit": 1000])
        let secret = shared["secret"] as! String
        let keyId = (shared["key"] as! [String: Any])["id"] as! String
        let processes = [first] + (try (0..<2).map { _ in try ServeProcess(database: first.database) })

        let perProcess = 150
        for index in processes.indices {
            for organization in 0..<(perProcess / 20 + 1) {
                _ = try first.result("subscriptions.setPlan", ["organizationId": "org_p\(index)_\(organization)", "plan": "pro",
                                                               "eventId": "setup_\(index)_\(organization)", "occurredAt": "2026-11-01T00:00:00Z"])
            }
        }
        let failures = LockedList()
        let group = DispatchGroup()
        for (index, serve) in processes.enumerated() {
            group.enter()
            Thread {
                defer { group.leave() }
                var lines: [String] = []
                for step in 0..<perProcess {
                    let calls: [[String: Any]] = [
                        ["method": "usage.record", "params": ["organizationId": "org_shared", "meter": "bookings", "amount": 1, "idempotencyKey": "p\(index)_\(step)"]],
                        // The same idempotency key from every process: counted once.
                        ["method": "usage.record", "params": ["organizationId": "org_shared", "meter": "bookings", "amount": 1, "idempotencyKey": "shared_\(step)"]],
                        // The same billing event from every process: applied once.
                        ["method": "subscriptions.setPlan", "params": ["organizationId": "org_billing", "plan": step.isMultiple(of: 2) ? "pro" : "starter", "eventId": "evt_\(step)", "occurredAt": "2026-11-02T00:\(String(format: "%02d", step / 60)):\(String(format: "%02d", step % 60))Z"]],
                        ["method": "keys.verify", "params": ["key": secret, "capability": "booking.read"]],
                        ["method": "keys.create", "params": ["organizationId": "org_p\(index)_\(step / 20)", "name": "k", "kind": "owner_integration", "capabilities": ["booking.read"]]],
                    ]
                    for (offset, call) in calls.enumerated() {
                        var body = call
                        body["jsonrpc"] = "2.0"
                        body["id"] = step * 10 + offset
                        lines.append(String(decoding: (try? JSONSerialization.data(withJSONObject: body)) ?? Data(), as: UTF8.self))
                    }
                }
                for line in lines { serve.send(line) }
                for _ in lines {
                    guard let reply = try? serve.nextLine(timeout: 60) else {
                        failures.append("process \(index): no reply")
                        return
                    }
                    if reply.contains("storage_failure") { failures.append(reply) }
                }
            }.start()
        }
        group.wait()
        for serve in processes { #expect(serve.finish() == 0) }
        #expect(failures.items == [], "\(failures.items.prefix(3))")

        let pool = try KeyDatabase.open(path: first.database.path)
        let bookings = try pool.read { try Int.fetchOne($0, sql: "SELECT SUM(used) FROM meter_usage WHERE organization_id = 'org_shared' AND meter = 'bookings'") }
        #expect(bookings == processes.count * perProcess + perProcess)
        let verified = try pool.read { try Int.fetchOne($0, sql: "SELECT SUM(valid) FROM key_usage_day WHERE key_id = ?", arguments: [keyId]) }
        #expect(verified == processes.count * perProcess)
        let applied = try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM billing_event WHERE organization_id = 'org_billing' AND outcome = 'applied'") }
        let audited = try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM audit_entry WHERE organization_id = 'org_billing' AND action = 'subscription.changed'") }
        #expect(applied == audited)
        #expect(try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM billing_event WHERE organization_id = 'org_billing'") } == perProcess)
        let created = try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM api_key WHERE organization_id LIKE 'org_p%'") }
        #expect(created == processes.count * perProcess)
    }
}

final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    var items: [String] { lock.withLock { list } }
    func append(_ item: String) { lock.withLock { list.append(item) } }
}

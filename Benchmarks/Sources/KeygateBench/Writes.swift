import Foundation

/// What ``createAndRevoke(_:organizations:)`` measured.
struct WriteRates {
    let create: Double
    let created: Int
    let attempted: Int
    let revoke: Double
}

/// Creates 20 keys in each of `organizations` new Pro organizations through
/// `client`, pipelined, then revokes them all, pipelined. The organizations
/// are new to each call, since a fixture is kept between runs, and an
/// organization holding every earlier run's revoked keys made a creation a
/// third dearer (docs/PERFORMANCE.md).
func createAndRevoke(_ client: ServeClient, organizations: Int) -> WriteRates {
    let run = UUID().uuidString.prefix(8)
    for organization in 0..<organizations {
        client.send(Array(#"{"jsonrpc":"2.0","id":\#(organization),"method":"subscriptions.setPlan","params":{"organizationId":"org_new_\#(run)_\#(organization)","plan":"pro","eventId":"evt_new_\#(organization)_\#(UUID().uuidString)","occurredAt":"2026-11-01T00:00:00Z"}}"#.utf8) + [0x0A])
    }
    for _ in 0..<organizations { _ = client.readLine() }
    let creates = organizations * 20
    let createLines = (0..<creates).map { index in
        Array(#"{"jsonrpc":"2.0","id":\#(index),"method":"keys.create","params":{"organizationId":"org_new_\#(run)_\#(index % organizations)","name":"bench \#(index)","kind":"owner_integration","capabilities":["booking.read"]}}"#.utf8) + [0x0A]
    }
    var createdIds: [(String, String)] = []
    let createStart = Measure.now()
    Thread { for line in createLines { client.send(line) } }.start()
    for _ in 0..<creates {
        let reply = client.readLine()
        if let object = try? JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any],
            let key = (object["result"] as? [String: Any])?["key"] as? [String: Any] {
            createdIds.append((key["organizationId"] as! String, key["id"] as! String))
        }
    }
    let createRate = Double(creates) / (Double(Measure.now() - createStart) / 1e9)
    let revokeLines = createdIds.enumerated().map { index, key in
        Array(#"{"jsonrpc":"2.0","id":\#(index),"method":"keys.revoke","params":{"organizationId":"\#(key.0)","keyId":"\#(key.1)"}}"#.utf8) + [0x0A]
    }
    let revokeRate = client.pipelinedRate(revokeLines)
    return WriteRates(create: createRate, created: createdIds.count, attempted: creates, revoke: revokeRate)
}

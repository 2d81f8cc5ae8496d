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
    // The replies are kept as they come and read after the clock stops:
    // Foundation's parser took 11-18 µs of a reply on the client's side,
    // which shares this machine's two cores with the server.
    var replies: [[UInt8]] = []
    replies.reserveCapacity(creates)
    let createStart = Measure.now()
    Thread { for line in createLines { client.send(line) } }.start()
    for _ in 0..<creates { replies.append(Array(client.readLine())) }
    let createRate = Double(creates) / (Double(Measure.now() - createStart) / 1e9)
    let createdIds = replies.compactMap { reply -> (String, String)? in
        guard let object = try? JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any],
            let key = (object["result"] as? [String: Any])?["key"] as? [String: Any]
        else { return nil }
        return (key["organizationId"] as! String, key["id"] as! String)
    }
    let revokeLines = createdIds.enumerated().map { index, key in
        Array(#"{"jsonrpc":"2.0","id":\#(index),"method":"keys.revoke","params":{"organizationId":"\#(key.0)","keyId":"\#(key.1)"}}"#.utf8) + [0x0A]
    }
    let revokeRate = client.pipelinedRate(revokeLines)
    return WriteRates(create: createRate, created: createdIds.count, attempted: creates, revoke: revokeRate)
}

/// Creation and revocation through a `keygate serve` of their own, on a
/// scratch copy of `fixture`, `rounds` times: runs and builds then compare
/// on the same data (the fixture itself is never written), and the median
/// round stands for the run, since a single round of half a second swung
/// by a third on this shared machine (docs/PERFORMANCE.md).
func createAndRevokeRounds(_ fixture: KeyFixture, in directory: URL, rounds: Int, organizations: Int,
                           serve: (String) throws -> ServeClient) throws -> [WriteRates] {
    let scratch = directory.appending(path: "create-scratch.sqlite").path
    try fixture.copy(to: scratch)
    let server = try serve(scratch)
    defer { server.stop() }
    return (1...rounds).map { _ in createAndRevoke(server, organizations: organizations) }
}

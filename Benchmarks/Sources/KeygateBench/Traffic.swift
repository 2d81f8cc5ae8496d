import Foundation
import KeyStore
import KeygateJSON
import KeygateService
import PlanCatalog

/// A seeded generator (SplitMix64): the same traffic on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Ranks drawn Zipf-like (probability of rank k proportional to 1/k^s),
/// by binary search over the cumulative distribution.
struct Zipf {
    private let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var running = 0.0
        cumulative = (1...count).map { rank in
            running += 1 / pow(Double(rank), exponent)
            return running
        }
    }

    func next(using random: inout SplitMix) -> Int {
        let target = Double.random(in: 0..<cumulative.last!, using: &random)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < target { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// Realistic traffic: verifications of keys drawn Zipf-like over every key
/// (s = 1.1, the popular keys being spread over the database), 1% of them
/// well-formed keys that do not exist, and one change to a key per 1,000
/// verifications (its rate limit, which every process must see).
struct Traffic {
    enum Item {
        case verify(String)
        case change(keyIndex: Int, rateLimit: Int)
    }

    let items: [Item]

    /// The draws of the first pass over a fresh process, and of the second.
    static let firstSeed: UInt64 = 2026
    static let steadySeed: UInt64 = 7

    init(secrets: [String], count: Int, catalog: PlanCatalog, seed: UInt64) {
        var random = SplitMix(state: seed)
        let zipf = Zipf(count: secrets.count, exponent: 1.1)
        // Rank r is key (r * a large odd number) mod n: hot keys all over the file.
        let scatter = 2_654_435_761 % secrets.count | 1
        let format = KeyFormat(catalog: catalog)
        var items: [Item] = []
        items.reserveCapacity(count + count / 1_000)
        for index in 0..<count {
            if index % 1_000 == 999 {
                let key = zipf.next(using: &random) * scatter % secrets.count
                items.append(.change(keyIndex: key, rateLimit: index % 2_000 == 999 ? 999 : 1_000))
            }
            if random.next() % 100 == 0 {
                items.append(.verify(format.generate(environment: "live").unredacted))
            } else {
                items.append(.verify(secrets[zipf.next(using: &random) * scatter % secrets.count]))
            }
        }
        self.items = items
    }

    /// Where a pass's wall time went: its changes (each timed), the rest
    /// being verifications.
    struct Timing {
        var changes: UInt64 = 0
        var slowestChange: UInt64 = 0
        var changeCount = 0
        /// Changes that took over 10 ms, and their total.
        var slowChanges = 0
        var slowTime: UInt64 = 0
    }

    /// Runs the traffic in process; the outcomes of its verifications.
    func run(on service: KeygateService) throws -> [VerifyOutcome: Int] {
        var timing = Timing()
        return try run(on: service, timing: &timing)
    }

    /// Runs the traffic in process, timing its changes into `timing`.
    func run(on service: KeygateService, timing: inout Timing) throws -> [VerifyOutcome: Int] {
        var outcomes: [VerifyOutcome: Int] = [:]
        for item in items {
            switch item {
            case .verify(let secret):
                outcomes[try service.verify(VerifyRequest(key: secret, capability: "booking.read")).outcome, default: 0] += 1
            case .change(let key, let rateLimit):
                let start = Measure.now()
                _ = try service.updateKey(id: "key_bench\(key)", organizationId: "org_\(key / KeyFixture.keysPerOrganization)",
                                          changes: KeyChanges(rateLimit: rateLimit), actor: nil)
                let took = Measure.now() - start
                timing.changes += took
                timing.slowestChange = max(timing.slowestChange, took)
                timing.changeCount += 1
                if took > 10_000_000 {
                    timing.slowChanges += 1
                    timing.slowTime += took
                }
            }
        }
        return outcomes
    }

    /// The lines `keygate serve` reads for this traffic.
    func lines() -> [[UInt8]] {
        items.enumerated().map { index, item in
            switch item {
            case .verify(let secret):
                Array(#"{"jsonrpc":"2.0","id":\#(index),"method":"keys.verify","params":{"key":"\#(secret)","capability":"booking.read"}}"#.utf8) + [0x0A]
            case .change(let key, let rateLimit):
                Array(#"{"jsonrpc":"2.0","id":\#(index),"method":"keys.update","params":{"organizationId":"org_\#(key / KeyFixture.keysPerOrganization)","keyId":"key_bench\#(key)","rateLimit":\#(rateLimit)}}"#.utf8) + [0x0A]
            }
        }
    }
}

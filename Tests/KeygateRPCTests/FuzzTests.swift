import Foundation
import KeygateJSON
@testable import KeygateRPC
import KeygateTestSupport
import PlanCatalog
import Testing

/// Issue 8, fuzzing, with a seeded mutation generator that runs in every
/// `swift test` (the coverage-guided libFuzzer targets live in `Fuzz/`, a
/// package of their own, since they need -sanitize=fuzzer). Seeds are
/// real frames (FuzzCorpus/) and the shipped and broken catalogs; each
/// iteration flips, inserts, deletes, duplicates or splices bytes. Every
/// input must get an answer: a frame must come back as one well-formed
/// JSON-RPC message (or none, for a notification), a catalog must load or
/// be refused with problems, and nothing may crash or hang. KEYGATE_FUZZ_ITERATIONS
/// (default 3,000 per target) and KEYGATE_FUZZ_SEED change the run.
@Suite("Fuzzing with a seeded generator")
struct FuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["KEYGATE_FUZZ_ITERATIONS"] ?? "") ?? 3_000
    static let seed = UInt64(ProcessInfo.processInfo.environment["KEYGATE_FUZZ_SEED"] ?? "") ?? 8

    @Test func everyMutatedFrameGetsOneWellFormedAnswer() throws {
        let rpc = try RPCFixture()
        let corpus = try FileManager.default.contentsOfDirectory(
            at: Repository.root.appending(path: "Tests/KeygateRPCTests/FuzzCorpus"), includingPropertiesForKeys: nil
        ).map { Array(try Data(contentsOf: $0)) }
        var mutator = Mutator(seed: Self.seed, corpus: corpus)
        for _ in 0..<Self.iterations {
            let input = mutator.next()
            guard let reply = rpc.send(bytes: input) else { continue }
            // Read back with the strict RFC 8259 parser: an id such as -1e9993 is
            // valid JSON and must be echoed as sent, though Foundation cannot read it.
            let frame = try? JSONParser.parse(reply)
            let frames: [JSON] = switch frame {
            case .array(let elements)?: elements
            case let single?: [single]
            case nil: []
            }
            #expect(!frames.isEmpty && frames.allSatisfy { $0["jsonrpc"] == .string("2.0") && ($0["result"] != nil) != ($0["error"] != nil) },
                    "input \(input.prefix(200)) gave \(reply.prefix(300))")
        }
    }

    @Test func everyMutatedCatalogLoadsOrIsRefusedWithProblems() throws {
        let folders = ["Plans", "Plans/examples", "Tests/PlanCatalogTests/Fixtures/broken"]
        let corpus = try folders.flatMap { folder in
            try FileManager.default.contentsOfDirectory(at: Repository.root.appending(path: folder), includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "xml" }.map { Array(try Data(contentsOf: $0)) }
        }
        var mutator = Mutator(seed: Self.seed, corpus: corpus)
        for _ in 0..<(Self.iterations / 3) {
            let input = mutator.next()
            do {
                _ = try PlanCatalog.parse(input, source: "fuzz.xml")
            } catch {
                #expect(!error.problems.isEmpty && error.problems.allSatisfy { !$0.message.isEmpty })
            }
        }
    }
}

/// Byte-level mutations of corpus entries, repeatable from a seed.
struct Mutator {
    private var generator: SeededRandom
    let corpus: [[UInt8]]
    private static let interesting: [[UInt8]] = [
        Array("\"".utf8), Array("{".utf8), Array("[".utf8), Array("\\u".utf8), Array("null".utf8), Array("-1e999".utf8),
        Array("<!DOCTYPE x [<!ENTITY a \"b\">]>".utf8), Array("&a;".utf8), [0x00], [0xFF], [0xC3], Array("99999999999999999999".utf8),
    ]

    init(seed: UInt64, corpus: [[UInt8]]) {
        generator = SeededRandom(seed: seed)
        self.corpus = corpus
    }

    mutating func random() -> UInt64 { generator.next() }

    mutating func below(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(random() % UInt64(bound)) }

    mutating func next() -> [UInt8] {
        var bytes = corpus[below(corpus.count)]
        for _ in 0...below(4) {
            let position = below(bytes.count + 1)
            switch below(6) {
            case 0 where !bytes.isEmpty: bytes[min(position, bytes.count - 1)] ^= UInt8(1 << below(8))
            case 1: bytes.insert(UInt8(truncatingIfNeeded: random()), at: position)
            case 2 where !bytes.isEmpty: bytes.removeSubrange(position..<min(bytes.count, position + 1 + below(16)))
            case 3: bytes.insert(contentsOf: Self.interesting[below(Self.interesting.count)], at: position)
            case 4 where !bytes.isEmpty:
                let start = below(bytes.count)
                bytes.insert(contentsOf: bytes[start..<min(bytes.count, start + 1 + below(64))], at: position)
            default:
                let other = corpus[below(corpus.count)]
                bytes = Array(bytes.prefix(position)) + other.suffix(from: min(other.count, below(other.count + 1)))
            }
        }
        return bytes
    }
}

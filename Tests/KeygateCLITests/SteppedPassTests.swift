@testable import KeygateCLI
import Testing

/// The passes `keygate serve` runs at its sweeps (folding usage, forgetting
/// quiet keys' rate-limit state): a bounded time of steps a sweep, resumed
/// where the last stopped, the next pass an interval after one ends.
@Suite("keygate serve: passes in steps")
struct SteppedPassTests {
    struct Failed: Error {}

    /// A store's rows 1 to 5, two a step: what each step did and where the next goes on.
    static func step(_ cursor: Int?) -> (done: Int, next: Int?) {
        let from = (cursor ?? 0) + 1
        let to = min(5, from + 1)
        return (to - from + 1, to == 5 ? nil : to)
    }

    @Test func aPassGoesOnWhereTheLastSweepStoppedAndSaysWhatItDidWhenItEnds() {
        // No time to spare: one step a sweep.
        var pass = SteppedPass<Int>(every: .seconds(3_600), budget: .zero)
        var cursors: [Int?] = []
        func sweep() -> Int? {
            pass.resume { cursor in
                cursors.append(cursor)
                return Self.step(cursor)
            }
        }
        #expect(sweep() == nil)
        #expect(sweep() == nil)
        #expect(sweep() == 5, "the pass's five rows, summed over its three steps")
        #expect(cursors == [nil, 2, 4])
        // The next pass is an hour away.
        #expect(sweep() == nil)
        #expect(cursors.count == 3)
    }

    @Test func aFailedStepIsTriedAgainFromTheSamePlace() throws {
        var pass = SteppedPass<Int>(every: .seconds(3_600), budget: .zero)
        var cursors: [Int?] = []
        _ = pass.resume { cursor in
            cursors.append(cursor)
            return Self.step(cursor)
        }
        #expect(throws: Failed.self) {
            _ = try pass.resume { (cursor: Int?) throws(Failed) -> (done: Int, next: Int?) in
                cursors.append(cursor)
                throw Failed()
            }
        }
        var total: Int?
        while total == nil, cursors.count < 10 {
            total = pass.resume { cursor in
                cursors.append(cursor)
                return Self.step(cursor)
            }
        }
        #expect(cursors == [nil, 2, 2, 4])
        #expect(total == 5, "what the failed step would have done is not counted")
    }

    @Test func withTimeToSpareOneSweepRunsTheWholePass() {
        var pass = SteppedPass<Int>(every: .seconds(3_600), budget: .seconds(60))
        var steps = 0
        let total = pass.resume { cursor in
            steps += 1
            return Self.step(cursor)
        }
        #expect(total == 5)
        #expect(steps == 3)
    }
}

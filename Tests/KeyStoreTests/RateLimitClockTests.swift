import Foundation
import Testing
@testable import KeyStore

/// GCRA through a clock stepped back (NTP correcting it, a virtual machine
/// restored from a snapshot): a key's time, set by the clock before the
/// step, lies ahead of every `now` after it.
@Suite("Rate limits through a clock stepped back")
struct RateLimitClockTests {
    let now: Int64 = 1_800_000_000_000_000
    let day: Int64 = 86_400_000_000

    /// A 60-a-minute key last admitted a day ahead of the clock as it is
    /// now waits one cell (a second) for it, not the day, and gets no
    /// burst back: one request a second from there.
    @Test func aKeyTimedByAClockSinceSteppedBackWaitsACellNotTheStep() {
        var arrival = now + day
        guard case .limited(let retryAfter, _) = GCRA.admit(&arrival, limit: 60, cost: 1, at: now) else {
            Issue.record("admitted at once after a step back")
            return
        }
        #expect(retryAfter == 1)
        let second: Int64 = 1_000_000
        let admitted = (1...98).filter { step in
            if case .allowed = GCRA.admit(&arrival, limit: 60, cost: 1, at: now + second + Int64(step) * 10_000) { return true }
            return false
        }
        #expect(admitted.count == 1, "in the second after the first cell is free, only that one")
    }

    /// A time up to a minute ahead is what an admission itself leaves,
    /// and is kept: the clamp takes nothing from a key that used its burst.
    @Test func aKeyThatUsedItsBurstIsNotGivenItBack() {
        var arrival: Int64 = 0
        for _ in 0..<60 { _ = GCRA.admit(&arrival, limit: 60, cost: 1, at: now) }
        #expect(arrival == now + GCRA.minute)
        guard case .limited(let retryAfter, _) = GCRA.admit(&arrival, limit: 60, cost: 1, at: now) else {
            Issue.record("admitted past the burst")
            return
        }
        #expect(retryAfter == 1)
    }

    /// A time up to a further minute ahead is another clock's (a host a
    /// little ahead, a process that read the time a moment later), and is
    /// honoured: forgetting it would let cells through twice.
    @Test func aTimeALittleFurtherAheadIsHonoured() {
        var arrival = now + GCRA.minute + 30_000_000
        guard case .limited(let retryAfter, _) = GCRA.admit(&arrival, limit: 60, cost: 1, at: now) else {
            Issue.record("admitted with the key's time half a minute beyond its burst")
            return
        }
        #expect(retryAfter == 31)
        #expect(arrival == now + GCRA.minute + 30_000_000)
    }

    /// Past the tolerance, however little, the time is a step's: the key
    /// waits a cell, and its time is brought back to a minute ahead.
    @Test func aTimeJustPastTheToleranceIsAStep() {
        var arrival = now + GCRA.minute + GCRA.clockTolerance + 1_000_000
        guard case .limited(let retryAfter, _) = GCRA.admit(&arrival, limit: 60, cost: 1, at: now) else {
            Issue.record("admitted at once after a step back")
            return
        }
        #expect(retryAfter == 1)
        #expect(arrival == now + GCRA.minute)
    }

    /// The table beside a database outlives its processes: one started
    /// after the clock was set back a day finds the keys it served in
    /// that day waiting a cell, not a day.
    @Test func theTableBesideADatabaseKeepsNoStepAcrossRestarts() throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "keygate-clock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        do {
            let ahead = try #require(try SQLiteKeyStorage(path: path, rules: StoreFixture.rules).rateLimits)
            for _ in 0..<60 { _ = ahead.admit(42, limit: 60, cost: 1, at: now + day) }
        }
        let restarted = try #require(try SQLiteKeyStorage(path: path, rules: StoreFixture.rules).rateLimits)
        guard case .limited(let retryAfter, _) = restarted.admit(42, limit: 60, cost: 1, at: now) else {
            Issue.record("the burst came back with the step")
            return
        }
        #expect(retryAfter == 1)
        if case .allowed = restarted.admit(42, limit: 60, cost: 1, at: now + 1_000_000) {} else {
            Issue.record("still refused a cell after the step")
        }
    }
}

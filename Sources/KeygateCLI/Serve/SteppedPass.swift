/// A pass over a store's rows in steps, each a transaction of its own, run
/// for a bounded time at a sweep and resumed at the next, so that flushes
/// never wait long behind one; the next pass starts `interval` after one
/// ends (the first at once).
struct SteppedPass<Cursor> {
    private var cursor: Cursor?
    private var total = 0
    private var nextPass = ContinuousClock.now
    let interval: Duration
    let budget: Duration

    init(every interval: Duration, budget: Duration) {
        self.interval = interval
        self.budget = budget
    }

    /// Runs steps from where the pass stands, while the budget lasts and
    /// if a pass is due; `step` takes the cursor and returns what it did
    /// and the cursor after it (`nil`: the pass is through). Returns the
    /// sum of what the pass's steps did when this call ended it. A failed
    /// step leaves the pass where it was, to go on from the same place.
    mutating func resume<Failure: Error>(_ step: (Cursor?) throws(Failure) -> (done: Int, next: Cursor?))
        throws(Failure) -> Int?
    {
        guard ContinuousClock.now >= nextPass else { return nil }
        let deadline = ContinuousClock.now + budget
        repeat {
            let (done, next) = try step(cursor)
            total += done
            cursor = next
            if next == nil {
                defer { total = 0 }
                nextPass = .now + interval
                return total
            }
        } while ContinuousClock.now < deadline
        return nil
    }
}

extension Duration {
    /// Whole milliseconds, cut toward zero: what `poll(2)` and PostgreSQL's
    /// time settings count in.
    var milliseconds: Int64 {
        components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
    }
}

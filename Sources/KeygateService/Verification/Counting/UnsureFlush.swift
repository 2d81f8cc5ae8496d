import KeyStore

/// A flush batch whose write failed and may have been committed all the
/// same: sent again, under its identity, before anything else.
struct UnsureFlush {
    let identity: String
    let usage: [UsageIncrement]
    /// Less an erased organization's, once its process learns of the erasure.
    var meters: [MeterIncrement]
    /// Where the change log stood when its counts were taken.
    let changesSeen: Int64?
}

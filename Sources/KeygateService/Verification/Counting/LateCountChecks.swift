/// The meter periods flushes wrote, for ``KeygateService/rejoinLateCounts()``.
struct LateCountChecks: Sendable {
    /// Written by a flush's batches: looked at where the organization's
    /// subscription changed lately.
    var written: [MeterSlot] = []
    /// Written by a batch sent again, or kept from a look that failed:
    /// looked at whatever changed.
    var retried: Set<MeterSlot> = []
}

import PlanCatalog

/// The `api.requests` quota of an organization, as verification counts it.
/// A class, changed in place: it is read on every verification. Lives only
/// inside ``VerificationState``'s lock.
final class RequestQuota {
    let meter: String
    let quota: Quota
    @exclusivity(unchecked) var window: QuotaWindow
    /// Requests already written for the window.
    @exclusivity(unchecked) var stored: Int
    /// Whether `stored` is kept current: read at the count version the
    /// state had caught up to, and moved by every flush since
    /// (``VerificationState/State/applyCounts(_:after:through:)``). If
    /// not, it serves one verification and is read again at the next.
    @exclusivity(unchecked) var isTracked: Bool
    /// The requests counted here for the window and not yet written.
    @exclusivity(unchecked) var counter: MeterCounter?

    init(meter: String, quota: Quota, window: QuotaWindow, stored: Int, isTracked: Bool) {
        self.meter = meter
        self.quota = quota
        self.window = window
        self.stored = stored
        self.isTracked = isTracked
    }
}

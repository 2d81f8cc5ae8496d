import KeyStore

/// A meter's count a flush took, and where its counter is among those
/// the flush took from (the counter itself stays inside the lock).
struct PendingMeter: Sendable {
    let increment: MeterIncrement
    let taken: Int
}

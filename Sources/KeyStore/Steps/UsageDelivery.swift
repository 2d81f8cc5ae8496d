/// What a `usage.record` call said, as a store keeps it beside its
/// idempotency key: the use a second call under the key is compared with.
package struct UsageDelivery {
    /// The columns a store reads it from, in the order of ``init(meter:amount:reserve:)``.
    package static let columns = "meter, amount, reserve"

    package let meter: String
    package let amount: Int
    /// Whether the call asked to record only what fits; `nil` in rows
    /// written before schema v20 (PostgreSQL 18), which did not keep it.
    package let reserve: Bool?

    package init(meter: String, amount: Int, reserve: Bool?) {
        self.meter = meter
        self.amount = amount
        self.reserve = reserve
    }

    /// Refuses a call under an idempotency key first used for another
    /// call: a retry sends the same call, so anything else is a key
    /// reused by mistake, and answering it as a replay would drop the use,
    /// or tell a reservation it fit when the first call recorded past the
    /// limit. Texts are compared byte for byte, as the database keys them.
    package func checkReplay(of first: UsageDelivery) throws(KeyStoreError) {
        let differs: String? =
            if !first.meter.isSameText(as: meter) { "meter" }
            else if first.amount != amount { "amount" }
            // Remembered before schema v20 (PostgreSQL 18), or by a process
            // of the version before: how it was asked was not kept.
            else if let reserved = first.reserve, reserved != reserve { "reserve" } else { nil }
        if let differs { throw KeyStoreError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": differs]) }
    }
}

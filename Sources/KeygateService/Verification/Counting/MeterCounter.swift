/// Requests of one organization's meter in one period, not yet written.
final class MeterCounter {
    let slot: MeterSlot
    @exclusivity(unchecked) var amount = 0
    /// The quota's limit in the period, for the store's threshold events.
    @exclusivity(unchecked) var limit: Int?
    /// Set when a flush forgets the counter (see ``KeyCounters/isRetired``).
    @exclusivity(unchecked) var isRetired = false

    init(_ slot: MeterSlot) {
        self.slot = slot
    }
}

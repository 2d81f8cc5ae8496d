/// What a ``ClockCache`` holds: an object that remembers whether it was used
/// since the clock hand last passed it.
protocol ClockEntry: AnyObject {
    var referenced: Bool { get set }
}

/// A map of bounded size that evicts by CLOCK (second chance): an entry used
/// since the hand last passed keeps its place once more, so what is in use
/// stays however many one-off entries arrive. New entries come in unmarked:
/// one used only once is the first to go, so a flood of one-off entries
/// recycles its own slots instead of sweeping the marks off the entries in
/// use. A hit costs a dictionary look-up and one store to the entry; only
/// an insert into a full cache moves the hand, which reads each entry's mark
/// from the ring itself and hashes only the key it evicts.
struct ClockCache<Key: Hashable, Value: ClockEntry> {
    let capacity: Int
    private var entries: [Key: (value: Value, slot: Int)] = [:]
    /// The ring the hand walks, with each slot's entry, so passing one costs
    /// no look-up (it cost one per step, several per insert once the hot
    /// keys were all marked); `nil` where an entry was removed.
    private var slots: [(key: Key, value: Value)?] = []
    private var free: [Int] = []
    private var hand = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        // Grown once, not by doubling while verifications wait on the lock.
        entries.reserveCapacity(capacity)
        slots.reserveCapacity(capacity)
    }

    var count: Int { entries.count }

    /// The entry for `key`, marked as used.
    func use(_ key: Key) -> Value? {
        guard let value = entries[key]?.value else { return nil }
        value.referenced = true
        return value
    }

    /// The entry for `key`, not marked: for updating it in place.
    func peek(_ key: Key) -> Value? {
        entries[key]?.value
    }

    /// Inserts or replaces; returns what was evicted to make room.
    @discardableResult
    mutating func insert(_ value: Value, for key: Key) -> (key: Key, value: Value)? {
        value.referenced = false
        if let existing = entries[key] {
            entries[key] = (value, existing.slot)
            slots[existing.slot] = (key, value)
            return nil
        }
        if let slot = free.popLast() {
            place(value, key, slot)
            return nil
        }
        if slots.count < capacity {
            slots.append(nil)
            place(value, key, slots.count - 1)
            return nil
        }
        // Every entry is passed at most twice: the first pass clears the
        // marks, so the second finds one unmarked.
        while true {
            let slot = hand
            hand = (hand + 1) % slots.count
            guard let victim = slots[slot] else {
                place(value, key, slot)
                return nil
            }
            if victim.value.referenced {
                victim.value.referenced = false
                continue
            }
            entries[victim.key] = nil
            place(value, key, slot)
            return victim
        }
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Value? {
        guard let entry = entries.removeValue(forKey: key) else { return nil }
        slots[entry.slot] = nil
        free.append(entry.slot)
        return entry.value
    }

    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        free.removeAll(keepingCapacity: true)
        hand = 0
    }

    private mutating func place(_ value: Value, _ key: Key, _ slot: Int) {
        slots[slot] = (key, value)
        entries[key] = (value, slot)
    }
}

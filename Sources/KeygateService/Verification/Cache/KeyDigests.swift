import KeyStore

/// The cached digests of one key, held in place: almost always one, its
/// current secret's; more only while a rotated-out secret is within its
/// grace period and still in use. An array for each cached key was an
/// allocation per miss; in place, the table's entries are larger, about
/// the same memory in all (docs/PERFORMANCE.md). Lives only inside
/// ``VerificationState``'s lock.
struct KeyDigests: Sequence {
    private var first: KeyDigest
    private var more: [KeyDigest] = []

    init(_ digest: KeyDigest) {
        first = digest
    }

    /// Adds `digest` unless held: two reads of one missing digest may both
    /// bring it in.
    mutating func insert(_ digest: KeyDigest) {
        if digest != first, !more.contains(digest) { more.append(digest) }
    }

    /// Removes `digest`; `false` when none is left, and then the key's
    /// entry goes.
    mutating func remove(_ digest: KeyDigest) -> Bool {
        if digest == first {
            guard let next = more.popLast() else { return false }
            first = next
        } else {
            more.removeAll { $0 == digest }
        }
        return true
    }

    func makeIterator() -> Iterator {
        Iterator(first: first, more: more.makeIterator())
    }

    struct Iterator: IteratorProtocol {
        fileprivate var first: KeyDigest?
        fileprivate var more: IndexingIterator<[KeyDigest]>

        mutating func next() -> KeyDigest? {
            if let digest = first {
                first = nil
                return digest
            }
            return more.next()
        }
    }
}

import Foundation

extension String {
    /// Whether this text and `other` are the same code points, as JSON
    /// compares member names and strings (RFC 8259, section 8.3), and as
    /// the databases compare text. Swift's `==` holds canonically
    /// equivalent texts equal: a member named `idempotency\u{212A}ey`
    /// (KELVIN SIGN for the K) was read as `idempotencyKey`.
    package func isSameText(as other: String) -> Bool {
        let (mine, theirs) = (utf8, other.utf8)
        guard mine.count == theirs.count else { return false }
        // Both in contiguous memory (native and small strings are): one
        // memcmp. Walking the views' indices instead cost a verification
        // about 900 instructions, a generic loop over the bytes about 400
        // (callgrind, docs/PERFORMANCE.md).
        let same = mine.withContiguousStorageIfAvailable { bytes in
            theirs.withContiguousStorageIfAvailable {
                bytes.isEmpty || memcmp(bytes.baseAddress!, $0.baseAddress!, bytes.count) == 0
            }
        }
        return same.flatMap { $0 } ?? mine.elementsEqual(theirs)
    }
}

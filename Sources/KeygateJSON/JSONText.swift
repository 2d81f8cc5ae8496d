extension String {
    /// Whether this text and `other` are the same code points, as JSON
    /// compares member names and strings (RFC 8259, section 8.3). Swift's
    /// `==` holds canonically equivalent texts equal: a member named
    /// `idempotency\u{212A}ey` (KELVIN SIGN for the K) was read as
    /// `idempotencyKey`, a member the client never named.
    @inlinable
    package func isSameJSONText(as other: String) -> Bool {
        // `==` first: between ASCII texts it is one comparison of bytes,
        // so only a match pays for the walk that makes sure.
        self == other && utf8.elementsEqual(other.utf8)
    }
}

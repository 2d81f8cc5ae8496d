/// A rotation under an idempotency key, as a store keeps it: the key it
/// rotated and the grace it gave, for a second call under the key to be
/// compared with.
package struct KeyRotation {
    /// The columns a store reads it from, in the order of the memberwise initializer.
    package static let columns = "key_id, grace_period_seconds"

    package let keyId: String
    /// As the store applied it: a rotation sent without one had none (0),
    /// a default no plan or setting changes, so left out and 0 are one.
    package let gracePeriodSeconds: Int

    package init(keyId: String, gracePeriodSeconds: Int) {
        self.keyId = keyId
        self.gracePeriodSeconds = gracePeriodSeconds
    }

    /// Why `retry`, sent under this rotation's idempotency key, rotates
    /// nothing. The same rotation is a retry whose answer was lost: a
    /// second one would replace the secret the first made, which its
    /// caller may have installed (a replayed request must not break an
    /// integration), and leave that secret working through the grace
    /// meant for the one before. Another is a key reused by mistake.
    package func refusal(of retry: KeyRotation) -> KeyStoreError {
        let differs: String? =
            if !keyId.isSameText(as: retry.keyId) { "keyId" }
            else if gracePeriodSeconds != retry.gracePeriodSeconds { "gracePeriodSeconds" } else { nil }
        if let differs { return KeyStoreError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": differs]) }
        return KeyStoreError(.keyAlreadyRotated, field: "idempotencyKey", ["keyId": keyId])
    }
}

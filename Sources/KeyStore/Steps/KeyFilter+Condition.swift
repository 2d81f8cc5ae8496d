extension KeyFilter {
    /// The filter as an SQL condition on `api_key k`, `time` naming the
    /// parameter that holds the current time; `nil` for every key.
    package func condition(time: String) -> String? {
        switch self {
        case .all: nil
        case .state(.live): "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > \(time))"
        case .state(.expired): "k.revoked_at IS NULL AND k.expires_at <= \(time)"
        case .state(.revoked): "k.revoked_at IS NOT NULL"
        }
    }
}

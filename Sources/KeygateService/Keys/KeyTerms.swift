import Foundation
import KeyStore

/// What a plan's access to a key is decided on: the parts its status,
/// usable capabilities and rate limit depend on. A stored record has them,
/// and so has the verification cache's smaller copy (``CachedRecord``).
protocol KeyTerms {
    var id: String { get }
    var kind: String { get }
    var capabilities: [String] { get }
    var rateLimit: Int { get }
    func state(at now: Date) -> KeyState
}

extension KeyRecord: KeyTerms {}

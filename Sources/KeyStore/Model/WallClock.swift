public import Foundation

/// Where the time comes from: the system in production, a fixed clock in tests,
/// so expiry, grace periods and quotas are tested without sleeping.
public protocol WallClock: Sendable {
    func now() -> Date
}

/// The system's clock.
public struct SystemClock: WallClock {
    public init() {}

    public func now() -> Date { Date() }
}

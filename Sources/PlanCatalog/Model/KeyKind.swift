/// A kind of key, which bounds the capabilities a key of that kind may carry
/// whatever its plan allows.
///
/// In the default catalog an `owner_integration` key may carry anything its
/// plan allows, while a `booking_partner` key never carries more than
/// `services.read`, `staff.read`, `availability.read` and `booking.create`.
public struct KeyKind: Sendable, Hashable, Identifiable {
    public let id: KindID
    /// The key of the kind's name in `Localization/`.
    public let nameKey: String
    public let capabilities: CapabilityScope

    public init(id: KindID, nameKey: String, capabilities: CapabilityScope) {
        self.id = id
        self.nameKey = nameKey
        self.capabilities = capabilities
    }
}

/// The capabilities a ``KeyKind`` admits before the plan has its say.
public enum CapabilityScope: Sendable, Hashable {
    /// Any capability the plan allows.
    case any
    /// Only these, in catalog order; the plan may narrow them further.
    case only([CapabilityID])

    public func contains(_ capability: CapabilityID) -> Bool {
        switch self {
        case .any: true
        case .only(let capabilities): capabilities.contains(capability)
        }
    }
}

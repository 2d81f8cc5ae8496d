/// Something a key may be allowed to do, such as `booking.create`.
public struct Capability: Sendable, Hashable, Identifiable {
    public let id: CapabilityID
    /// The key of the capability's description in `Localization/`.
    public let descriptionKey: String

    public init(id: CapabilityID, descriptionKey: String) {
        self.id = id
        self.descriptionKey = descriptionKey
    }
}

/// Identifies the state of the stored data: two equal tokens mean nothing
/// was committed in between, by this process or any other.
public struct ChangeToken: Sendable, Hashable {
    let dataVersion: Int64
    let localWrites: Int64
}

/// A raw API key, as its holder sends it.
///
/// It prints as its hint (`kg_live_…x7Qa`) wherever it is interpolated,
/// logged or dumped, so a key cannot reach a log by accident; only
/// ``unredacted`` gives the secret, to be returned once to the caller that
/// created or rotated the key.
public struct RawKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The key itself. Return it once; never log, store or show it again.
    public let unredacted: String

    /// A key someone holds, such as one being imported.
    public init(_ unredacted: String) {
        self.unredacted = unredacted
    }

    public var description: String { KeyFormat.hint(of: Array(unredacted.utf8)) }
    public var debugDescription: String { "RawKey(\(description))" }
    public var customMirror: Mirror { Mirror(self, children: ["hint": description]) }
}

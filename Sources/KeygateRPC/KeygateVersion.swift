/// This build of Keygate: what `keygate --version` prints and what
/// `rpc.discover` names as the document's version.
public enum KeygateVersion {
    public static let current = "0.5.0"
}

@preconcurrency internal import CLibXML2

/// libxml2's process-wide set-up.
enum LibXML {
    /// libxml2 must be initialised once before threads use it; a static
    /// initialiser runs exactly once, whichever thread gets here first.
    private static let initialized: Void = xmlInitParser()

    static func initialize() {
        _ = initialized
    }
}

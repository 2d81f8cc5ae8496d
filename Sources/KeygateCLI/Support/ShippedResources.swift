import Foundation
import KeygateLocalization
import PlanCatalog

/// The shipped catalog and translations, which SwiftPM builds as resource
/// bundles beside the executable.
///
/// SwiftPM's own accessor stops the process with a fatal error when a
/// bundle is missing, as it is when the executable was installed without
/// them; and it also looks in the build folder it was built in, so a copy
/// worked on the machine that built it and crashed on the next. The
/// commands look beside the executable themselves, first, and say what is
/// missing and what to do instead.
enum ShippedResources {
    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    /// The catalog at `path` when one is named, else the shipped
    /// `plans.xml`; when that is missing, the failure names the options
    /// that name another.
    static func catalog(named path: String?) throws(Missing) -> URL {
        if let path { return try named(path, "a catalog file") }
        try look(for: "Keygate_PlanCatalog", holding: "the shipped plan catalog",
                 otherwise: "or name a catalog with --catalog or KEYGATE_CATALOG")
        return PlanCatalog.shippedCatalog
    }

    /// The translations in the folder at `path` when one is named, else the
    /// shipped ones; `otherwise` says how the command names others, if it can.
    static func translations(
        named path: String?, otherwise: String? = "or name a folder with --localization or KEYGATE_LOCALIZATION"
    ) throws(Missing) -> URL {
        if let path { return try named(path, "a folder of translations") }
        try look(for: "Keygate_KeygateLocalization", holding: "the shipped translations", otherwise: otherwise)
        return Localizer.shippedDirectory
    }

    /// The file or folder an option or the environment named. An empty
    /// path was read as the working folder, and refused as a folder that
    /// is not a catalog, or one without translations.
    private static func named(_ path: String, _ what: String) throws(Missing) -> URL {
        guard !path.isEmpty else { throw Missing(description: "the path is empty; name \(what)") }
        return URL(filePath: path)
    }

    private static func look(for module: String, holding contents: String, otherwise: String?) throws(Missing) {
        #if canImport(Darwin)
        let bundle = module + ".bundle"
        #else
        let bundle = module + ".resources"
        #endif
        let folder = Bundle.main.bundleURL
        guard !FileManager.default.fileExists(atPath: folder.appending(path: bundle).path) else { return }
        throw Missing(description: "\(contents) is missing: \(bundle) is not beside the executable in \(folder.path); "
                      + "install it with the executable" + (otherwise.map { ", \($0)" } ?? ""))
    }
}

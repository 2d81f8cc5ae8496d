public import Foundation
public import Logging

extension Localizer {
    /// The String Catalogs that ship with Keygate (`Localization/` in the
    /// repository): every message in English, Polish and German.
    public static var shippedDirectory: URL {
        Bundle.module.url(forResource: "Localization", withExtension: nil)!
    }

    /// The shipped translations.
    ///
    /// ```swift
    /// let localizer = try Localizer.shipped(logger: logger)
    /// ```
    public static func shipped(logger: Logger) throws(LocalizationError) -> Localizer {
        try load(directory: shippedDirectory, logger: logger)
    }
}

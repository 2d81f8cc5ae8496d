public import Foundation

extension PlanCatalog {
    /// The catalogs that ship with Keygate (`Plans/` in the repository):
    /// `plans.xml` (Free, Starter, Pro), `plans.xsd` and `examples/`.
    ///
    /// ```swift
    /// let catalog = try PlanCatalog.load(contentsOf: PlanCatalog.shippedCatalog)
    /// let example = try PlanCatalog.load(contentsOf: PlanCatalog.shipped.appending(path: "examples/link-platform.xml"))
    /// ```
    public static var shipped: URL {
        Bundle.module.url(forResource: "Plans", withExtension: nil)!
    }

    /// The default catalog, `plans.xml`.
    public static var shippedCatalog: URL {
        shipped.appending(path: "plans.xml")
    }
}

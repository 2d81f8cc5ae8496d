public import Foundation
public import KeyStore

extension KeygateService {
    /// Records in the store that this process serves with ``catalog``
    /// (loaded from `source`, on `host`, as process `processId`), and
    /// returns the other catalogs processes on the same store recorded
    /// within `window`, most recent first.
    ///
    /// Each process answers about plans from its own catalog: an
    /// organization's plan, what its keys may do, its quotas. Processes on
    /// one database that load different catalogs answer the same request
    /// differently, which nothing in a single answer shows; a non-empty
    /// result is that split. Call it now and then from every process with
    /// the same `window`, a few times the interval between calls
    /// (`keygate serve` records at each event sweep and looks three sweeps
    /// back). One small write; never per request.
    public func recordCatalog(source: String, host: String, processId: Int32, within window: TimeInterval)
        throws(ServiceError) -> [CatalogInUse]
    {
        let mine = CatalogInUse(digest: catalog.digest, source: source, host: host, processId: processId)
        return try store { () throws(KeyStoreError) in try storage.recordCatalog(mine, within: window) }
    }
}

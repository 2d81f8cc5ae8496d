import KeyStore
import PlanCatalog

extension SchemaContext {
    /// The closed sets of a loaded catalog.
    init(catalog: PlanCatalog) {
        self.init()
        plans = catalog.plans.map(\.id.rawValue)
        kinds = catalog.kinds.map(\.id.rawValue)
        capabilities = catalog.capabilities.map(\.id.rawValue)
        meters = catalog.meters.map(\.id.rawValue)
        environments = catalog.keys.environments
        eventTypes = EventType.all.map(\.rawValue)
        auditActions = AuditAction.all.map(\.rawValue)
    }
}

import Foundation
import KeyStore

/// An organization's meter in one quota period.
struct MeterSlot: Hashable {
    let organizationId: String
    let meter: String
    let periodStart: Date
}

extension MeterSlot {
    init(_ increment: MeterIncrement) {
        self.init(organizationId: increment.organizationId, meter: increment.meter, periodStart: increment.periodStart)
    }
}

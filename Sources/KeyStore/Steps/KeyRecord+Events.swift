package import Foundation
package import KeygateJSON

extension KeyRecord {
    /// What every event about a key carries: enough to name it in a message.
    package func eventData(_ extra: [String: JSON] = [:]) -> [String: JSON] {
        var data: [String: JSON] = [
            "keyId": .string(id), "name": .string(name), "hint": .string(hint), "kind": .string(kind),
            "environment": .string(environment),
        ]
        data.merge(extra) { $1 }
        return data
    }

    /// The event of a change to this key.
    package func event(_ type: EventType, _ extra: [String: JSON] = [:]) -> NewEvent {
        NewEvent(type: type, organizationId: organizationId, keyId: id, data: eventData(extra))
    }

    /// The event of an update that changed this key.
    package func updateEvent(_ details: KeyChangeDetails) -> NewEvent {
        event(.keyUpdated, ["changes": details.event])
    }

    /// The event of a leak report about this key: `revoked` or `flagged`,
    /// the secret reported (its hint, and its deadline if rotated out) and
    /// where it was found.
    package func leakEvent(revoked: Bool, secret: LeakedSecret, location: String?) -> NewEvent {
        var data = secret.members
        data["action"] = .string(revoked ? "revoked" : "flagged")
        data["location"] = location.map(JSON.string)
        return event(.keyLeakReported, data)
    }

    /// The once-only events of this key's expiry, due at `now`: announced
    /// within `schedule.expiryNotice`, expired (within the retention, so
    /// an event pruned is not written again).
    package func expiryEvents(at now: Date, _ schedule: EventSchedule) -> [NewEvent] {
        guard revokedAt == nil, let expiresAt, expiresAt > now.addingTimeInterval(-schedule.retention) else { return [] }
        let stamp = StorageCoding.milliseconds(expiresAt)
        let data = eventData(["expiresAt": .string(RFC3339.string(expiresAt))])
        var events: [NewEvent] = []
        if expiresAt > now, expiresAt <= now.addingTimeInterval(schedule.expiryNotice) {
            events.append(NewEvent(type: .keyExpiring, organizationId: organizationId, keyId: id, data: data,
                                   once: "expiring:\(id):\(stamp)"))
        }
        if expiresAt <= now {
            events.append(NewEvent(type: .keyExpired, organizationId: organizationId, keyId: id, data: data,
                                   once: "expired:\(id):\(stamp)"))
        }
        return events
    }
}

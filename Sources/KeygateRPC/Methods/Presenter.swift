import Foundation
import KeyStore
import KeygateJSON
import KeygateLocalization
import KeygateService
import PlanCatalog

/// Turns service values into wire values in the request's language.
struct Presenter {
    let localizer: Localizer
    let catalog: PlanCatalog
    let language: String
    let now: Date

    func text(_ key: String) -> String {
        localizer.string(key, language: language)
    }

    func key(_ key: ManagedKey) -> KeyInfo {
        let record = key.record
        return KeyInfo(
            id: record.id, organizationId: record.organizationId, name: record.name, kind: record.kind,
            kindName: catalog.kind(KindID(record.kind)).map { text($0.nameKey) } ?? record.kind,
            capabilities: record.capabilities, usableCapabilities: key.usableCapabilities,
            environment: record.environment, hint: record.hint, status: key.status,
            statusText: text("status.\(key.status.rawValue)"), createdAt: record.createdAt, expiresAt: record.expiresAt,
            lastUsedAt: record.lastUsedAt,
            lastUsedText: localizer.relativeTime(record.lastUsedAt, now: now, language: language),
            lastUsedOrigin: record.lastOrigin, lastUsedIP: record.lastIP,
            rateLimit: record.rateLimit, effectiveRateLimit: key.effectiveRateLimit, allowedOrigins: record.allowedOrigins,
            usage: .init(valid: record.usage.valid, invalid: record.usage.invalid),
            previousSecrets: key.previousSecrets.map { .init(hint: $0.hint, expiresAt: $0.expiresAt) })
    }

    func subscription(_ subscription: Subscription) -> SubscriptionInfo {
        SubscriptionInfo(
            organizationId: subscription.organizationId, plan: subscription.plan.rawValue,
            planName: planName(subscription.plan), billedPlan: subscription.billedPlan.rawValue,
            status: subscription.status,
            statusText: text("subscription.\(subscription.status.rawValue)"), periodStart: subscription.periodStart,
            periodEnd: subscription.periodEnd, updatedAt: subscription.updatedAt)
    }

    func planName(_ id: PlanID) -> String {
        catalog.plan(id).map { text($0.nameKey) } ?? id.rawValue
    }

    func quota(_ state: QuotaState) -> QuotaInfo {
        QuotaInfo(
            id: state.meter.rawValue, name: catalog.meter(state.meter).map { text($0.nameKey) } ?? state.meter.rawValue,
            limit: state.limit, used: state.used, remaining: state.remaining, exceeded: state.exceeded, period: state.period,
            resetsAt: state.resetsAt)
    }

    func quota(_ quota: Quota?) -> PlanInfo.Quota? {
        quota.map { PlanInfo.Quota(id: $0.meter.rawValue, limit: $0.limit, period: $0.period) }
    }

    func plan(_ plan: Plan) -> PlanInfo {
        let policy = plan.apiKeys
        return PlanInfo(
            id: plan.id.rawValue, name: text(plan.nameKey),
            apiKeys: .init(
                enabled: policy != nil, maxActiveKeys: policy == nil ? 0 : policy?.maxActiveKeys,
                kinds: policy?.kinds.map(\.rawValue) ?? [], capabilities: policy?.capabilities.map(\.rawValue) ?? [],
                rateLimit: policy.map { RateLimit(default: $0.rateLimit.defaultPerMinute, max: $0.rateLimit.maxPerMinute) },
                maxLifetimeDays: policy?.maxLifetimeDays),
            quotas: plan.quotas.compactMap(quota))
    }

    /// What an event says happened, from its type and data.
    func message(of event: OutboxEvent) -> String {
        var arguments: [String: MessageArgument] = [:]
        var variant: String?
        if case .object(let members) = event.data {
            for (name, value) in members {
                switch value {
                case .string(let text): arguments[name] = .text(text)
                case .number(let text): if let number = Int(text) { arguments[name] = .number(number) }
                default: break
                }
            }
        }
        switch event.type {
        case .keyRevoked where arguments["reason"] != nil: variant = "reason"
        case .keyLeakReported:
            // A flagged secret a rotation left in its grace period works to
            // its deadline whatever the key's holder rotates: the message says so.
            if case .string(let text) = event.data["secretExpiresAt"], let date = RFC3339.date(text) {
                arguments["secretExpiresAt"] = .moment(date)
            }
            var parts: [String] = []
            if event.data["action"] == .string("revoked") {
                parts.append("revoked")
            } else if arguments["secretExpiresAt"] != nil {
                parts.append("earlier")
            }
            if arguments["location"] != nil { parts.append("location") }
            variant = parts.isEmpty ? nil : parts.joined(separator: "_")
        case .keyExpiring, .keyExpired:
            if case .string(let text) = event.data["expiresAt"], let date = RFC3339.date(text) { arguments["expiresAt"] = .date(date) }
        case .keyUpdated:
            // What changed, by the names a person knows the fields by, in the event's order.
            if case .object(let changes) = event.data["changes"] {
                arguments["changes"] = .text(changes.map { field, _ in
                    let name = "event.key.updated.field.\(field)"
                    return localizer.contains(name) ? localizer.string(name, [:], language: language) : field
                }.joined(separator: ", "))
            }
        case .keyPreviousSecretsStopped:
            if case .array(let secrets) = event.data["secrets"] { arguments["count"] = .number(secrets.count) }
        case .planChanged:
            if case .string(let plan) = event.data["plan"] { arguments["planName"] = .text(planName(PlanID(plan))) }
            if case .string(let plan) = event.data["previousPlan"] { arguments["previousPlanName"] = .text(planName(PlanID(plan))) }
            if event.data["status"] == .string(SubscriptionStatus.canceled.rawValue) { variant = "canceled" }
        case .keysSuspended, .keysRestored:
            if case .array(let keys) = event.data["keyIds"] { arguments["count"] = .number(keys.count) }
            if case .string(let plan) = event.data["plan"] { arguments["planName"] = .text(planName(PlanID(plan))) }
        case .organizationErased:
            if case .number(let keys) = event.data["keys"], let count = Int(keys) { arguments["count"] = .number(count) }
        case .quotaThreshold:
            if case .string(let meter) = event.data["meter"] {
                arguments["meterName"] = .text(catalog.meter(MeterID(meter)).map { text($0.nameKey) } ?? meter)
            }
        default: break
        }
        let key = "event.\(event.type.rawValue)"
        let chosen = variant.map { "\(key).\($0)" }.flatMap { localizer.contains($0) ? $0 : nil } ?? key
        guard localizer.contains(chosen) else { return event.type.rawValue }
        return localizer.string(chosen, arguments, language: language)
    }

    func capability(_ capability: Capability) -> CapabilityInfo {
        CapabilityInfo(id: capability.id.rawValue, description: text(capability.descriptionKey))
    }
}

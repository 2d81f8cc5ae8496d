import Foundation
import KeyStore
import PlanCatalog

/// The plan's rules on what a key may be, each refusal with its code and the
/// parameters that tell the user what would allow it (`requiredPlan`: the
/// cheapest plan that would).
struct KeyGates {
    let catalog: PlanCatalog
    let plan: Plan

    /// The plan's key policy, or `plan_forbids_api_keys`.
    func policy() throws(ServiceError) -> APIKeyPolicy {
        guard let policy = plan.apiKeys else {
            throw refusal(.planForbidsAPIKeys, field: nil, [:]) { $0.allowsAPIKeys }
        }
        return policy
    }

    func kind(_ id: String, in policy: APIKeyPolicy) throws(ServiceError) -> KeyKind {
        guard let kind = catalog.kind(KindID(id)) else {
            throw ServiceError(.unknownKind, field: "kind", [
                "kind": redacted(id), "kinds": catalog.kinds.map(\.id.rawValue).joined(separator: ", "),
            ])
        }
        guard policy.kinds.contains(kind.id) else {
            throw refusal(.kindNotAllowed, field: "kind", ["kind": id, "kindName": kind.nameKey]) {
                $0.apiKeys?.kinds.contains(kind.id) == true
            }
        }
        return kind
    }

    /// Every capability must be one the kind admits and the plan allows.
    func capabilities(_ capabilities: [String], of kind: KeyKind, in policy: APIKeyPolicy) throws(ServiceError) {
        for id in capabilities {
            let capability = CapabilityID(id)
            guard catalog.capability(capability) != nil else {
                throw ServiceError(.unknownCapability, field: "capabilities", ["capability": redacted(id)])
            }
            guard kind.capabilities.contains(capability) else {
                throw ServiceError(.capabilityNotAllowedForKind, field: "capabilities",
                                   ["capability": id, "kind": kind.id.rawValue, "kindName": kind.nameKey])
            }
            guard policy.capabilities.contains(capability) else {
                throw refusal(.capabilityNotAllowed, field: "capabilities", ["capability": id]) { plan in
                    catalog.usableCapabilities(of: kind.id, on: plan).contains(capability)
                }
            }
        }
    }

    /// The rate limit asked for, or the plan's default; never above its ceiling.
    func rateLimit(_ requested: Int?, in policy: APIKeyPolicy) throws(ServiceError) -> Int {
        let rateLimit = requested ?? policy.rateLimit.defaultPerMinute
        guard rateLimit <= policy.rateLimit.maxPerMinute else {
            throw refusal(.rateLimitAbovePlan, field: "rateLimit", ["max": "\(policy.rateLimit.maxPerMinute)"]) {
                ($0.apiKeys?.rateLimit.maxPerMinute ?? 0) >= rateLimit
            }
        }
        return rateLimit
    }

    /// The expiry asked for, which must be within the plan's longest lifetime;
    /// a key created without one on such a plan lives that long.
    func expiry(_ requested: Date?, now: Date, in policy: APIKeyPolicy) throws(ServiceError) -> Date? {
        guard let days = policy.maxLifetimeDays else { return requested }
        let latest = now.addingTimeInterval(TimeInterval(days) * 86_400)
        guard let requested else { return latest }
        guard requested <= latest else {
            throw refusal(.lifetimeAbovePlan, field: "expiresAt", ["maxDays": "\(days)"]) { plan in
                guard let policy = plan.apiKeys else { return false }
                return policy.maxLifetimeDays.map { now.addingTimeInterval(TimeInterval($0) * 86_400) >= requested } ?? true
            }
        }
        return requested
    }

    /// The error the key limit raises, with the plan that allows more keys.
    func keyLimitReached(_ limit: Int) -> ServiceError {
        refusal(.keyLimitReached, field: nil, ["limit": "\(limit)"]) { plan in
            guard let policy = plan.apiKeys else { return false }
            return policy.maxActiveKeys.map { $0 > limit } ?? true
        }
    }

    /// An input echoed in an error: short, and a raw key only as its hint.
    private func redacted(_ value: String) -> String {
        KeyFormat(catalog: catalog).redacted(value)
    }

    /// A refusal naming this plan and, when one exists, the cheapest plan
    /// above it that satisfies `allows`.
    private func refusal(
        _ code: ServiceError.Code, field: String?, _ parameters: [String: String], allows: (Plan) -> Bool
    ) -> ServiceError {
        var parameters = parameters
        parameters["plan"] = plan.id.rawValue
        parameters["planName"] = plan.nameKey
        if let required = catalog.cheapestPlan(where: { $0.tier > plan.tier && allows($0) }) {
            parameters["requiredPlan"] = required.id.rawValue
            parameters["requiredPlanName"] = required.nameKey
        }
        return ServiceError(code, field: field, parameters)
    }
}

import PlanCatalog

/// How the catalog commands put a catalog into words and tables.
struct CatalogSummary {
    let catalog: PlanCatalog

    var totals: String {
        let routes = catalog.routes.isEmpty ? "" : ", " + Self.count(catalog.routes.routes.count, "route")
        return "\(Self.count(catalog.plans.count, "plan")), \(Self.count(catalog.capabilities.count, "capability", "capabilities")), "
            + "\(Self.count(catalog.kinds.count, "kind")), \(Self.count(catalog.meters.count, "meter"))\(routes); "
            + "default plan \(catalog.defaultPlan.id); keys look like \(catalog.keys.prefix)_\(catalog.keys.environments.first ?? "live")_…"
            + catalog.keys.legacyFormats.map { " (and \($0.prefix)…, imported)" }.joined()
    }

    /// One line for `catalog validate`.
    func line(for plan: Plan) -> String {
        let quotas = plan.quotas.map { "\($0.meter) \(Self.format($0))" }.joined(separator: ", ")
        guard let policy = plan.apiKeys else {
            return "no API keys; quotas: \(quotas)"
        }
        let lifetime = policy.maxLifetimeDays.map { "keys live at most \($0) days" } ?? "keys may never expire"
        return "API keys: \(policy.maxActiveKeys.map(Self.grouped) ?? "unlimited") active, "
            + "kinds \(policy.kinds.map(\.rawValue).joined(separator: ", ")), "
            + "\(Self.count(policy.capabilities.count, "capability", "capabilities")), "
            + "\(policy.rateLimit.defaultPerMinute)/min by default (max \(policy.rateLimit.maxPerMinute)), "
            + "\(lifetime); quotas: \(quotas)"
    }

    /// The plans as columns, for `catalog show`.
    func table() -> TextTable {
        let plans = catalog.plans
        var table = TextTable(header: [""] + plans.map { plan in
            plan.id == catalog.defaultPlan.id ? "\(plan.id) (default)" : plan.id.rawValue
        })
        func row(_ title: String, _ value: (Plan) -> String) {
            table.rows.append(.cells([title] + plans.map(value)))
        }

        table.addSection("API keys")
        row("  available") { $0.allowsAPIKeys ? "yes" : "no" }
        row("  active keys") { plan in
            plan.apiKeys.map { $0.maxActiveKeys.map(Self.grouped) ?? "unlimited" } ?? "-"
        }
        row("  rate limit / min") { plan in
            plan.apiKeys.map { "\($0.rateLimit.defaultPerMinute) (max \($0.rateLimit.maxPerMinute))" } ?? "-"
        }
        row("  longest lifetime") { plan in
            plan.apiKeys.map { $0.maxLifetimeDays.map { "\($0) days" } ?? "no limit" } ?? "-"
        }

        table.addSection("Kinds")
        for kind in catalog.kinds {
            row("  \(kind.id)") { plan in
                let usable = catalog.usableCapabilities(of: kind.id, on: plan).count
                return usable == 0 ? "-" : "yes (\(Self.count(usable, "capability", "capabilities")))"
            }
        }

        table.addSection("Capabilities")
        for capability in catalog.capabilities {
            row("  \(capability.id)") { plan in
                plan.apiKeys?.capabilities.contains(capability.id) == true ? "yes" : "-"
            }
        }

        table.addSection("Quotas")
        for meter in catalog.meters {
            row("  \(meter.id)") { plan in plan.quota(for: meter.id).map(Self.format) ?? "-" }
        }
        if !catalog.routes.isEmpty {
            table.addSection("Routes")
            for route in catalog.routes.routes {
                let capability = route.capability
                row("  \(route.methods.map(\.rawValue).joined(separator: ",")) \(route.pattern) → \(capability)") { plan in
                    plan.apiKeys?.capabilities.contains(capability) == true ? "yes" : "-"
                }
            }
        }
        return table
    }

    /// "1 capability", "3 capabilities".
    static func count(_ number: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(grouped(number)) \(number == 1 ? singular : plural ?? singular + "s")"
    }

    static func format(_ quota: Quota) -> String {
        let limit = quota.limit.map(grouped) ?? "unlimited"
        return quota.period == .none ? limit : "\(limit) / \(quota.period.rawValue)"
    }

    /// 1000000 as 1,000,000: quotas are read at a glance.
    static func grouped(_ number: Int) -> String {
        let digits = Array(String(number.magnitude))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return number < 0 ? "-" + text : text
    }
}

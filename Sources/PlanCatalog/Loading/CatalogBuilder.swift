/// Turns a schema-valid catalog into a ``PlanCatalog``, checking what the
/// schema cannot: references to undeclared ids, duplicate ids, the default
/// plan, rate limits, quotas and routes. Every problem is reported, each at
/// the line of the element at fault.
struct CatalogBuilder {
    let sink: DiagnosticSink

    func build(_ root: XMLElementNode) -> PlanCatalog? {
        let problemsBefore = sink.problems.count
        let keys = keySettings(root.child(named: "keys"))
        let capabilities = capabilities(root.child(named: "capabilities"))
        let capabilityIDs = Set(capabilities.map(\.id.rawValue))
        let kinds = kinds(root.child(named: "kinds"), capabilities: capabilityIDs)
        let meters = meters(root.child(named: "meters"))
        let plans = plans(root.child(named: "plans"), capabilities: capabilities, kinds: kinds, meters: meters)
        let routes = routes(root.child(named: "routes"), capabilities: capabilityIDs)

        let defaultPlanID = root[attribute: "defaultPlan"] ?? ""
        let defaultPlan = plans.first { $0.id.rawValue == defaultPlanID }
        if defaultPlan == nil {
            sink.add(
                line: root.line,
                "the default plan '\(defaultPlanID)' is not a plan of this catalog"
                    + Self.suggestion(for: defaultPlanID, among: plans.map(\.id.rawValue))
            )
        }
        guard sink.problems.count == problemsBefore, let keys, let defaultPlan else { return nil }
        return PlanCatalog(
            keys: keys,
            capabilities: capabilities,
            kinds: kinds,
            meters: meters,
            plans: plans,
            defaultPlan: defaultPlan,
            routes: RouteTable(routes: routes)
        )
    }

    // MARK: Sections

    private func keySettings(_ element: XMLElementNode?) -> KeySettings? {
        guard let element, let prefix = element[attribute: "prefix"] else { return nil }
        var seen: [String: Int] = [:]
        let environments = element.children(named: "environment").compactMap { environment -> String? in
            let id = environment[attribute: "id"] ?? ""
            return declare(id, "environment", at: environment.line, in: &seen) ? id : nil
        }
        var legacyFormats: [KeySettings.LegacyFormat] = []
        for legacy in element.children(named: "legacyFormat") {
            let legacyPrefix = legacy[attribute: "prefix"] ?? ""
            let environment = legacy[attribute: "environment"] ?? ""
            if !environments.contains(environment) {
                sink.add(line: legacy.line, "legacy format '\(legacyPrefix)' names the environment '\(environment)', "
                    + "which is not declared" + Self.suggestion(for: environment, among: environments))
            } else if legacyPrefix.hasPrefix(prefix + "_") {
                // Keygate's own keys would then have two readings.
                sink.add(line: legacy.line, "legacy format '\(legacyPrefix)' starts like this catalog's own keys ('\(prefix)_')")
            } else if let other = legacyFormats.first(where: { legacyPrefix.hasPrefix($0.prefix) || $0.prefix.hasPrefix(legacyPrefix) }) {
                sink.add(line: legacy.line, "legacy format '\(legacyPrefix)' overlaps '\(other.prefix)': a key could be read as either")
            } else {
                legacyFormats.append(KeySettings.LegacyFormat(prefix: legacyPrefix, environment: environment, digest: .sha256))
            }
        }
        return KeySettings(prefix: prefix, environments: environments, legacyFormats: legacyFormats)
    }

    private func capabilities(_ element: XMLElementNode?) -> [Capability] {
        var seen: [String: Int] = [:]
        return (element?.children(named: "capability") ?? []).compactMap { capability in
            let id = capability[attribute: "id"] ?? ""
            guard declare(id, "capability", at: capability.line, in: &seen) else { return nil }
            return Capability(id: CapabilityID(id), descriptionKey: capability[attribute: "description"] ?? "")
        }
    }

    private func kinds(_ element: XMLElementNode?, capabilities: Set<String>) -> [KeyKind] {
        var seen: [String: Int] = [:]
        return (element?.children(named: "kind") ?? []).compactMap { kind in
            let id = kind[attribute: "id"] ?? ""
            guard declare(id, "kind", at: kind.line, in: &seen) else { return nil }
            let scope: CapabilityScope
            if kind.child(named: "anyCapability") != nil {
                scope = .any
            } else {
                let listed = references(
                    kind.children(named: "capability"), to: "capability", known: capabilities, owner: "kind '\(id)'")
                scope = .only(listed.map { CapabilityID($0) })
            }
            return KeyKind(id: KindID(id), nameKey: kind[attribute: "name"] ?? "", capabilities: scope)
        }
    }

    private func meters(_ element: XMLElementNode?) -> [Meter] {
        var seen: [String: Int] = [:]
        var sources: [MeterSource: String] = [:]
        return (element?.children(named: "meter") ?? []).compactMap { meter in
            let id = meter[attribute: "id"] ?? ""
            guard declare(id, "meter", at: meter.line, in: &seen),
                let source = MeterSource(rawValue: meter[attribute: "source"] ?? "")
            else { return nil }
            if source != .recorded {
                if let other = sources[source] {
                    sink.add(
                        line: meter.line,
                        "meter '\(id)' counts \(source.rawValue), which meter '\(other)' already counts; a catalog has one such meter"
                    )
                    return nil
                }
                sources[source] = id
            }
            return Meter(id: MeterID(id), nameKey: meter[attribute: "name"] ?? "", source: source)
        }
    }

    private func plans(
        _ element: XMLElementNode?, capabilities: [Capability], kinds: [KeyKind], meters: [Meter]
    ) -> [Plan] {
        var seen: [String: Int] = [:]
        var plans: [Plan] = []
        for plan in element?.children(named: "plan") ?? [] {
            let id = plan[attribute: "id"] ?? ""
            guard declare(id, "plan", at: plan.line, in: &seen) else { continue }
            let quotas = quotas(of: plan, id: id, meters: meters)
            let activeKeysMeter = meters.first { $0.source == .activeKeys }?.id
            let keyLimit = activeKeysMeter.flatMap { meter in quotas.first { $0.meter == meter } }
            var policy: APIKeyPolicy?
            if let apiKeys = plan.child(named: "apiKeys") {
                policy = apiKeyPolicy(
                    apiKeys, plan: id, keyLimit: keyLimit, capabilities: capabilities, kinds: kinds)
            } else if let keyLimit, keyLimit.limit != 0 {
                sink.add(
                    line: plan.line,
                    "plan '\(id)' has no API keys, so its quota on '\(keyLimit.meter)' must be 0"
                )
            }
            plans.append(
                Plan(id: PlanID(id), nameKey: plan[attribute: "name"] ?? "", tier: plans.count,
                     apiKeys: policy, quotas: quotas))
        }
        return plans
    }

    private func apiKeyPolicy(
        _ element: XMLElementNode, plan: String, keyLimit: Quota?, capabilities: [Capability], kinds: [KeyKind]
    ) -> APIKeyPolicy? {
        let owner = "plan '\(plan)'"
        let kindIDs = references(
            element.children(named: "kind"), to: "kind", known: Set(kinds.map(\.id.rawValue)), owner: owner)
        let listed = Set(references(
            element.children(named: "capability"), to: "capability",
            known: Set(capabilities.map(\.id.rawValue)), owner: owner))
        // Catalog order, not the plan's listing order, so every list of
        // capabilities a caller sees is ordered the same way.
        let allowed = capabilities.map(\.id).filter { listed.contains($0.rawValue) }

        for kindElement in element.children(named: "kind") {
            guard let kind = kinds.first(where: { $0.id.rawValue == kindElement[attribute: "ref"] }) else { continue }
            if !allowed.contains(where: kind.capabilities.contains) {
                sink.add(
                    line: kindElement.line,
                    "\(owner) allows kind '\(kind.id)', but none of that kind's capabilities is allowed on the plan"
                )
            }
        }
        if let keyLimit, keyLimit.limit == 0 {
            sink.add(
                line: element.line,
                "\(owner) has API keys but its quota on '\(keyLimit.meter)' allows 0 active keys; use <noApiKeys/> instead"
            )
        }

        guard let rateLimit = element.child(named: "rateLimit"),
            let defaultPerMinute = integer(rateLimit, "default"),
            let maxPerMinute = integer(rateLimit, "max")
        else { return nil }
        if defaultPerMinute > maxPerMinute {
            sink.add(
                line: rateLimit.line,
                "\(owner) gives new keys \(defaultPerMinute) requests per minute by default, above its ceiling of \(maxPerMinute)"
            )
        }
        var maxLifetimeDays: Int?
        if element[attribute: "maxLifetimeDays"] != nil {
            guard let days = integer(element, "maxLifetimeDays") else { return nil }
            maxLifetimeDays = days
        }
        return APIKeyPolicy(
            maxActiveKeys: keyLimit?.limit,
            kinds: kindIDs.map { KindID($0) },
            capabilities: allowed,
            rateLimit: RateLimitPolicy(defaultPerMinute: defaultPerMinute, maxPerMinute: maxPerMinute),
            maxLifetimeDays: maxLifetimeDays
        )
    }

    /// The plan's quotas in the catalog's meter order, one for every meter.
    private func quotas(of plan: XMLElementNode, id: String, meters: [Meter]) -> [Quota] {
        var byMeter: [String: (quota: Quota, line: Int)] = [:]
        let elements = plan.child(named: "quotas")?.children(named: "quota") ?? []
        for element in elements {
            let meterID = element[attribute: "meter"] ?? ""
            guard let meter = meters.first(where: { $0.id.rawValue == meterID }) else {
                sink.add(
                    line: element.line,
                    "plan '\(id)' has a quota on unknown meter '\(meterID)'"
                        + Self.suggestion(for: meterID, among: meters.map(\.id.rawValue))
                )
                continue
            }
            if let first = byMeter[meterID] {
                sink.add(
                    line: element.line,
                    "plan '\(id)' has a second quota on meter '\(meterID)' (the first is on line \(first.line))"
                )
                continue
            }
            let limitText = element[attribute: "limit"] ?? ""
            let limit: Int?
            if limitText.trimmed == "unlimited" {
                limit = nil
            } else {
                guard let value = integer(element, "limit") else { continue }
                limit = value
            }
            let period = QuotaPeriod(rawValue: element[attribute: "period"] ?? "") ?? .none
            if meter.source == .activeKeys && period != .none {
                sink.add(
                    line: element.line,
                    "meter '\(meterID)' counts active keys, which never reset; its period must be 'none', not '\(period.rawValue)'"
                )
            }
            byMeter[meterID] = (Quota(meter: meter.id, limit: limit, period: period), element.line)
        }
        for meter in meters where byMeter[meter.id.rawValue] == nil {
            sink.add(line: plan.line, "plan '\(id)' has no quota on meter '\(meter.id)'; every plan needs one per meter")
        }
        return meters.compactMap { byMeter[$0.id.rawValue]?.quota }
    }

    private func routes(_ element: XMLElementNode?, capabilities: Set<String>) -> [Route] {
        var seen: [String: Int] = [:]
        return (element?.children(named: "route") ?? []).compactMap { route in
            let path = route[attribute: "path"] ?? ""
            let pattern: RoutePattern
            do {
                pattern = try RoutePattern(parsing: path.trimmed)
            } catch {
                sink.add(line: route.line, "route path '\(path)': \(error)")
                return nil
            }
            let capability = route[attribute: "capability"] ?? ""
            guard capabilities.contains(capability) else {
                sink.add(
                    line: route.line,
                    "route \(path) needs unknown capability '\(capability)'"
                        + Self.suggestion(for: capability, among: capabilities.sorted())
                )
                return nil
            }
            let methods = (route[attribute: "methods"] ?? "").split(whereSeparator: \.isWhitespace)
                .compactMap { HTTPMethod(token: $0) }
            var distinct: [HTTPMethod] = []
            for method in methods {
                if distinct.contains(method) {
                    sink.add(line: route.line, "route \(path) lists \(method.rawValue) twice")
                    continue
                }
                distinct.append(method)
                let key = "\(method.rawValue) \(pattern.shape)"
                if let first = seen[key] {
                    sink.add(line: route.line, "route \(method.rawValue) \(pattern) is already mapped on line \(first)")
                } else {
                    seen[key] = route.line
                }
            }
            return Route(methods: distinct, pattern: pattern, capability: CapabilityID(capability))
        }
    }

    // MARK: Helpers

    /// Records an id's declaration; `false` (and a problem) when it was declared before.
    private func declare(_ id: String, _ what: String, at line: Int, in seen: inout [String: Int]) -> Bool {
        if let first = seen[id] {
            sink.add(line: line, "\(what) '\(id)' is declared twice (first on line \(first))")
            return false
        }
        seen[id] = line
        return true
    }

    /// The ids that `ref` elements name, reporting unknown and repeated ones.
    private func references(
        _ elements: [XMLElementNode], to what: String, known: Set<String>, owner: String
    ) -> [String] {
        var listed: [String] = []
        for element in elements {
            let id = element[attribute: "ref"] ?? ""
            if !known.contains(id) {
                sink.add(
                    line: element.line,
                    "\(owner) names unknown \(what) '\(id)'" + Self.suggestion(for: id, among: known.sorted()))
            } else if listed.contains(id) {
                sink.add(line: element.line, "\(owner) lists \(what) '\(id)' twice")
            } else {
                listed.append(id)
            }
        }
        return listed
    }

    /// An integer attribute the schema has already checked; XSD allows
    /// surrounding spaces and a leading '+', which `Int` does not.
    private func integer(_ element: XMLElementNode, _ attribute: String) -> Int? {
        let text = (element[attribute: attribute] ?? "").trimmed
        guard let value = Int(text.hasPrefix("+") ? String(text.dropFirst()) : text) else {
            sink.add(line: element.line, "\(attribute) '\(text)' is not a whole number this catalog can hold")
            return nil
        }
        return value
    }

    /// ", did you mean 'x'?" for a near miss, so a typo is fixed at a glance.
    static func suggestion(for id: String, among candidates: [String]) -> String {
        let scored = candidates.map { ($0, editDistance(id, $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, id.count / 3) else { return "" }
        return "; did you mean '\(best.0)'?"
    }

    private static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let lhs = Array(lhs), rhs = Array(rhs)
        guard !lhs.isEmpty else { return rhs.count }
        var previous = Array(0...rhs.count)
        for (i, left) in lhs.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: rhs.count)
            for (j, right) in rhs.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (left == right ? 0 : 1))
            }
            previous = current
        }
        return previous[rhs.count]
    }
}

private extension String {
    var trimmed: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

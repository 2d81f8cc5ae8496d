import Foundation
import KeygateJSON
import KeyStore
public import KeygateLocalization
public import KeygateService
public import Logging
import PlanCatalog

/// The method table of `keygate serve`: every method of the RPC contract,
/// each a thin adapter that decodes, calls one service method and presents
/// the result. No business rule lives here.
public enum KeygateMethods {
    public static func table(service: KeygateService, localizer: Localizer,
                             logger: Logger = Logger(label: "keygate.rpc")) -> MethodTable {
        let catalog = service.catalog
        let messages = ErrorMessages(localizer: localizer, catalog: catalog, logger: logger)
        @Sendable func presenter(_ context: RequestContext) -> Presenter {
            Presenter(localizer: localizer, catalog: catalog, language: context.language, now: context.service.now())
        }
        var table = MethodTable(service: service)

        table.register(CatalogPlans.self) { _, context in
            let present = presenter(context)
            return .init(defaultPlan: catalog.defaultPlan.id.rawValue, plans: catalog.plans.map(present.plan))
        }
        table.register(CatalogCapabilities.self) { _, context in
            let present = presenter(context)
            return .init(
                capabilities: catalog.capabilities.map(present.capability),
                kinds: catalog.kinds.map { kind in
                    let capabilities: [String] = switch kind.capabilities {
                    case .any: catalog.capabilities.map(\.id.rawValue)
                    case .only(let ids): ids.map(\.rawValue)
                    }
                    return KindInfo(id: kind.id.rawValue, name: present.text(kind.nameKey), capabilities: capabilities)
                })
        }

        table.register(GetSubscription.self) { params, context in
            presenter(context).subscription(try context.service.subscription(organizationId: params.organizationId))
        }
        table.register(SetPlan.self) { params, context in
            let result = try context.service.setPlan(SetPlanRequest(
                organizationId: params.organizationId, plan: PlanID(params.plan), eventId: params.eventId,
                occurredAt: params.occurredAt, status: params.status, periodStart: params.periodStart,
                periodEnd: params.periodEnd, actor: params.actor))
            return .init(subscription: presenter(context).subscription(result.subscription), applied: result.applied,
                         reason: result.reason.flatMap { SetPlan.NotApplied(rawValue: $0.rawValue) })
        }
        table.register(PreviewPlan.self) { params, context in
            let present = presenter(context)
            let preview = try context.service.preview(organizationId: params.organizationId, plan: PlanID(params.plan))
            return .init(
                from: preview.from.rawValue, to: preview.to.rawValue, suspendedKeys: preview.suspendedKeys,
                restoredKeys: preview.restoredKeys,
                lostCapabilities: preview.lostCapabilities.map { .init(keyId: $0.keyId, capabilities: $0.capabilities) },
                capabilitiesLost: preview.capabilitiesLost,
                quotaChanges: preview.quotaChanges.map {
                    .init(id: $0.meter.rawValue, from: present.quota($0.from), to: present.quota($0.to))
                })
        }
        table.register(GetQuotas.self) { params, context in
            let report: QuotaReport
            switch (params.organizationId, params.key) {
            case (let organizationId?, nil): report = try context.service.quotas(organizationId: organizationId)
            case (nil, let key?): report = try context.service.quotas(secret: key)
            case (nil, nil): throw ParamsError(field: "organizationId", kind: .missingEither("key"))
            case (_?, _?): throw ParamsError(field: "key", kind: .exclusive(with: "organizationId"))
            }
            let present = presenter(context)
            return .init(
                plan: report.plan.rawValue, planName: present.planName(report.plan),
                billedPlan: report.subscription.billedPlan.rawValue,
                status: report.subscription.status, periodStart: report.subscription.periodStart,
                periodEnd: report.subscription.periodEnd, quotas: report.quotas.map(present.quota))
        }

        table.register(CreateKey.self) { params, context in
            let created = try context.service.createKey(CreateKeyRequest(
                organizationId: params.organizationId, name: params.name, kind: params.kind,
                capabilities: params.capabilities, expiresAt: params.expiresAt, rateLimit: params.rateLimit,
                allowedOrigins: params.allowedOrigins ?? [], environment: params.environment, actor: params.actor,
                idempotencyKey: params.idempotencyKey))
            return .init(key: presenter(context).key(created.key), secret: created.secret.unredacted)
        }
        table.register(KeyOptionsMethod.self) { params, context in
            let present = presenter(context)
            let options = try context.service.keyOptions(organizationId: params.organizationId)
            return .init(
                canCreate: options.canCreate,
                reason: options.reason.map { messages.service($0, language: context.language).data.message },
                reasonCode: options.reason?.code.rawValue,
                kinds: options.kinds.map { option in
                    KindOptionInfo(id: option.kind.id.rawValue, name: present.text(option.kind.nameKey),
                                   capabilities: option.capabilities.map(present.capability))
                },
                rateLimit: options.rateLimit.map { RateLimit(default: $0.defaultPerMinute, max: $0.maxPerMinute) },
                maxLifetimeDays: options.maxLifetimeDays, activeKeys: options.activeKeys,
                maxActiveKeys: options.maxActiveKeys)
        }
        table.register(ListKeys.self) { params, context in
            let page = try context.service.keys(organizationId: params.organizationId, status: params.status, cursor: params.cursor,
                                        limit: params.limit)
            return .init(keys: page.keys.map(presenter(context).key), nextCursor: page.nextCursor)
        }
        table.register(GetKey.self) { params, context in
            presenter(context).key(try context.service.key(id: params.keyId, organizationId: params.organizationId))
        }
        table.register(UpdateKey.self) { params, context in
            presenter(context).key(try context.service.updateKey(
                id: params.keyId, organizationId: params.organizationId,
                changes: KeyChanges(name: params.name, capabilities: params.capabilities, rateLimit: params.rateLimit,
                                    allowedOrigins: params.allowedOrigins, expiresAt: params.expiresAt),
                actor: params.actor))
        }
        table.register(RotateKey.self) { params, context in
            let rotated = try context.service.rotateKey(
                id: params.keyId, organizationId: params.organizationId,
                gracePeriodSeconds: params.gracePeriodSeconds ?? 0, actor: params.actor, idempotencyKey: params.idempotencyKey)
            return .init(key: presenter(context).key(rotated.key), secret: rotated.secret.unredacted,
                         previousSecretExpiresAt: rotated.previousSecretExpiresAt)
        }
        table.register(StopPreviousSecrets.self) { params, context in
            presenter(context).key(try context.service.stopPreviousSecrets(
                id: params.keyId, organizationId: params.organizationId, actor: params.actor))
        }
        table.register(RevokeKey.self) { params, context in
            presenter(context).key(try context.service.revokeKey(id: params.keyId, organizationId: params.organizationId,
                                                         actor: params.actor))
        }
        table.register(ImportKeys.self) { params, context in
            let requests = try params.keys.enumerated().map { index, key throws(ParamsError) in
                try key.request(organizationId: params.organizationId, actor: params.actor, field: "keys[\(index)].")
            }
            let present = presenter(context)
            return .init(results: try context.service.importKeys(requests).map { outcome in
                switch outcome {
                case .imported(let key): .init(status: .imported, key: present.key(key), error: nil)
                case .alreadyPresent(let key): .init(status: .alreadyPresent, key: present.key(key), error: nil)
                case .refused(let error):
                    .init(status: .refused, key: nil, error: messages.service(error, language: context.language).refusal)
                }
            })
        }
        table.register(ReportLeakedKeys.self) { params, context in
            let findings = try context.service.reportLeaked(
                params.keys.map { LeakedKeyReport(key: $0.key, location: $0.location) }, action: params.action ?? .revoke,
                actor: params.actor)
            return .init(results: findings.map { .init(hint: $0.hint, isKey: $0.isKey, outcome: $0.outcome) })
        }
        table.register(DeleteKey.self) { params, context in
            try context.service.deleteKey(id: params.keyId, organizationId: params.organizationId, actor: params.actor)
            return .init(deleted: true)
        }

        table.register(VerifyKey.self) { params, context in
            // Whatever a gateway forwards gets a result; only a caller's
            // programming mistakes are errors.
            if params.key != nil, params.authorization != nil {
                throw ParamsError(field: "authorization", kind: .exclusive(with: "key"))
            }
            if params.path != nil, params.method == nil { throw ParamsError(field: "path", kind: .requires("method")) }
            if params.method != nil, params.path == nil { throw ParamsError(field: "method", kind: .requires("path")) }
            if params.capability != nil, params.method != nil {
                throw ParamsError(field: "method", kind: .exclusive(with: "capability"))
            }
            let request: VerifyRequest
            switch (params.key, params.authorization) {
            case (let key?, _):
                request = VerifyRequest(key: key, capability: params.capability, method: params.method, path: params.path,
                                        origin: params.origin, ip: params.ip, cost: params.cost ?? 1)
            case (nil, let header?):
                request = VerifyRequest(authorization: header, capability: params.capability, method: params.method,
                                        path: params.path, origin: params.origin, ip: params.ip, cost: params.cost ?? 1)
            case (nil, nil): throw ParamsError(field: "key", kind: .missingEither("authorization"))
            }
            let result = try context.service.verify(request)
            return .init(
                valid: result.isValid, code: result.outcome, httpStatus: result.outcome.httpStatus,
                message: messages.verification(result, language: context.language),
                organizationId: result.organizationId, keyId: result.keyId, kind: result.kind,
                secretExpiresAt: result.secretExpiresAt, capabilities: result.capabilities,
                rateLimit: result.rateLimit.map { .init(limit: $0.limit, remaining: $0.remaining, resetAt: $0.resetAt) },
                retryAfter: result.retryAfter,
                quota: result.quota.map { .init(id: $0.meter.rawValue, limit: $0.limit, remaining: $0.remaining, resetsAt: $0.resetsAt) })
        }

        table.register(RecordUsage.self) { params, context in
            presenter(context).quota(try context.service.recordUsage(
                organizationId: params.organizationId, meter: params.meter, amount: params.amount,
                idempotencyKey: params.idempotencyKey, reserve: params.reserve ?? false))
        }
        table.register(GetUsage.self) { params, context in
            let days = try context.service.usage(organizationId: params.organizationId, keyId: params.keyId,
                                                 from: params.from.start, to: params.to.start)
            return .init(days: days.map {
                .init(date: $0.date, keyId: $0.keyId, valid: $0.valid, invalid: $0.invalid, refusals: $0.refusals,
                      capabilities: $0.capabilities)
            })
        }
        table.register(ListAudit.self) { params, context in
            let page = try context.service.auditLog(organizationId: params.organizationId, keyId: params.keyId, cursor: params.cursor,
                                                    limit: params.limit)
            return .init(
                entries: page.entries.map {
                    .init(at: $0.at, actor: $0.actor, action: $0.action.rawValue, keyId: $0.keyId,
                          details: $0.details)
                },
                nextCursor: page.nextCursor)
        }
        table.register(ListEvents.self) { params, context in
            let page = try context.service.events(organizationId: params.organizationId, types: params.types.map { Set($0.values) },
                                                  cursor: params.cursor, limit: params.limit)
            let present = presenter(context)
            return .init(
                events: page.events.map { event in
                    .init(id: event.id, type: event.type.rawValue, organizationId: event.organizationId, at: event.at,
                          keyId: event.keyId, data: event.data, message: present.message(of: event))
                },
                nextCursor: page.nextCursor, hasMore: page.hasMore)
        }
        table.register(EraseOrganization.self) { params, context in
            let erasure = try context.service.eraseOrganization(params.organizationId, actor: params.actor)
            return .init(erased: true, keys: erasure.keys)
        }
        table.register(CheckHealth.self) { _, context in
            CheckHealth.Result(context.service.health(), localizer: localizer, language: context.language)
        }
        return table
    }
}

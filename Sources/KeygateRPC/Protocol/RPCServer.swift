import Foundation
import KeygateJSON
public import KeygateLocalization
import KeyStore
import KeygateService
import Locking
public import Logging
public import PlanCatalog

/// Answers JSON-RPC 2.0 messages, one line at a time: requests, notifications
/// (never answered) and batches, with every error the specification names.
///
/// The envelope is parsed once; a request's params are then decoded into
/// its method's `Params` type, so a bad param is -32602 naming the field.
/// The server is a value built once and never changed, safe to share.
public struct RPCServer: Sendable {
    let methods: [String: MethodTable.Entry]
    let table: MethodTable
    let messages: ErrorMessages
    let localizer: Localizer
    let defaultLocale: String?
    let logger: Logger
    /// Echoed inputs (an unknown method's name) show a raw key only as its hint.
    let keyFormat: KeyFormat
    /// The context of a request run on its own, by language.
    let contexts: [String: RequestContext]
    /// Which storage failures to log: while the database is out of reach,
    /// every request that needs it fails, and a gateway verifying keys not
    /// in memory would write a line for each.
    let storageFailures = Locked(FailureLog())

    public init(table: MethodTable, catalog: PlanCatalog, localizer: Localizer, defaultLocale: String?, logger: Logger) {
        // The document lists rpc.discover too, so it is generated from the
        // table with rpc.discover in it, once, and then served as it is.
        var listed = table
        listed.register(Discover.self) { _, _ in throw DiscoverPlaceholder() }
        let document = OpenRPCDocument.generate(from: listed, context: SchemaContext(catalog: catalog))
        var table = table
        table.register(Discover.self) { _, _ in document }
        self.table = table
        methods = Dictionary(uniqueKeysWithValues: table.entries.map { ($0.name, $0) })
        messages = ErrorMessages(localizer: localizer, catalog: catalog, logger: logger)
        self.localizer = localizer
        self.defaultLocale = defaultLocale
        self.logger = logger
        keyFormat = KeyFormat(catalog: catalog)
        contexts = Dictionary(uniqueKeysWithValues: localizer.languages.map {
            ($0, RequestContext(language: $0, service: table.service))
        })
    }

    /// The reply to one line of input, or `nil` when nothing is to be
    /// answered (notifications, and batches of them).
    public func reply(to line: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        switch parse(line) {
        case .failed(let reply): reply
        case .parsed(let message): reply(to: message)
        }
    }

    /// A line, parsed; or, if it is not JSON, the error reply to it.
    enum Parsed {
        case parsed(JSON)
        case failed([UInt8])
    }

    func parse(_ line: UnsafeBufferPointer<UInt8>) -> Parsed {
        do {
            return .parsed(try JSONParser.parse(line))
        } catch {
            return .failed(frame(id: .null, error: messages.parse(error, language: fallbackLanguage)))
        }
    }

    /// The reply to a parsed message: one request, a notification or a batch.
    func reply(to message: JSON) -> [UInt8]? {
        let fallback = fallbackLanguage
        // `invoke:` takes closures, not the method `alone` itself: a method
        // reference copied the whole server (a retain per field) per request.
        switch message {
        case .array(let elements):
            guard !elements.isEmpty else {
                return frame(id: .null, error: messages.error(.invalidRequest, variant: "empty_batch", language: fallback))
            }
            let replies = elements.compactMap { handle($0, fallback: fallback, invoke: { try alone($0, $1, $2) }).reply }
            guard !replies.isEmpty else { return nil }
            var writer = JSONWriter()
            writer.raw("[")
            for (index, reply) in replies.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.raw(reply)
            }
            writer.raw("]")
            return writer.bytes
        default:
            return handle(message, fallback: fallback, invoke: { try alone($0, $1, $2) }).reply
        }
    }

    /// Whether a message is a single request (or notification) of a method
    /// that only writes, which may share a commit with its neighbours.
    func joinsWriteGroup(_ message: JSON) -> Bool {
        guard case .string(let name)? = message["method"], let method = methods[name] else {
            return false
        }
        return method.writes
    }

    /// Whether pipelined verifications are worth gathering: the store looks
    /// keys up together for less than one at a time (PostgreSQL), so the
    /// keys a read's verifications lack are read at once
    /// (``replies(toVerifications:)``). On SQLite each is answered as read.
    var gathersVerifications: Bool { table.service.looksUpKeysTogether }

    /// Whether a message is a single `keys.verify` request.
    func isVerification(_ message: JSON) -> Bool {
        if case .string("keys.verify")? = message["method"] { return true }
        return false
    }

    /// Answers verifications that arrived together, in order, after looking
    /// up together the keys among them that memory lacks. A failed look-up
    /// changes nothing: each verification then reads its key itself and
    /// answers for itself.
    func replies(toVerifications group: [JSON]) -> [[UInt8]?] {
        let keys = group.compactMap { message -> String? in
            switch message["params"]?["key"] {
            case .string(let key)?: return key
            default: break
            }
            if case .string(let header)? = message["params"]?["authorization"] {
                return VerifyRequest.key(fromAuthorization: header)
            }
            return nil
        }
        try? table.service.prepareVerifications(of: keys)
        return group.map { reply(to: $0) }
    }

    /// Answers write requests that arrived together, committed as one
    /// group. The replies exist only once the group is committed; if the
    /// commit fails, none of the group was kept, and every request that had
    /// succeeded is answered with that storage failure instead.
    func replies(toGroup group: [JSON]) -> [[UInt8]?] {
        guard group.count > 1 else { return group.map { reply(to: $0) } }
        let fallback = fallbackLanguage
        var handled: [Handled] = []
        do {
            let ran = try table.service.unitOfWork { unit -> Bool in
                handled = group.map { message in
                    handle(message, fallback: fallback) { method, params, language in
                        try unit.run { service in try method.invoke(params, RequestContext(language: language, service: service)) }
                    }
                }
                return true
            }
            // No transaction could begin (another process holds the write
            // lock): each request waits for it on its own.
            guard ran == true else { return group.map { reply(to: $0) } }
            return handled.map(\.reply)
        } catch {
            logStorageFailure(error, method: "write group", ["requests": "\(group.count)"])
            return handled.map { request in
                guard let answered = request.answered else { return request.reply }
                return frame(id: answered.id, error: messages.service(error, language: answered.language))
            }
        }
    }

    /// Logs a request's (or a write group's) storage failure with its
    /// reason and, where the store judged them the operator's business,
    /// the database's own words (`detail`).
    private func logStorageFailure(_ error: ServiceError, method: String, _ more: Logger.Metadata = [:]) {
        var metadata = more.merging(["method": "\(method)", "reason": "\(error.parameters["reason"] ?? "")"]) { $1 }
        if let detail = error.parameters["detail"] { metadata["detail"] = "\(detail)" }
        logStorageFailure(metadata)
    }

    /// Logs a storage failure: the first of a run, one for another reason,
    /// then one a minute with how many.
    private func logStorageFailure(_ metadata: Logger.Metadata) {
        let reason = "\(metadata["reason"] ?? "")"
        switch storageFailures.withLock({ $0.failed(reason, at: .now) }) {
        case .failed?:
            logger.error("storage failure", metadata: metadata)
        case .stillFailing(let failures, let seconds)?:
            logger.error("storage failures go on", metadata: metadata.merging([
                "failures": "\(failures)", "seconds": "\(seconds)",
            ]) { $1 })
        case .recovered?, nil:
            break
        }
    }

    /// The language of messages that come before a request names its own.
    private var fallbackLanguage: String {
        localizer.language(for: nil, default: defaultLocale)
    }

    /// A reply for a line that was too long to read, answered without parsing it.
    public func replyToOversizedLine(limit: Int) -> [UInt8] {
        frame(id: .null, error: messages.error(.requestTooLarge, ["max": .number(limit)], language: fallbackLanguage))
    }

    /// One request's reply and what a write group needs to know of it.
    struct Handled {
        /// `nil` for a notification.
        let reply: [UInt8]?
        /// For a request answered with a result (so it may have written):
        /// what a reply taking that result back needs. `nil` for refusals
        /// and notifications.
        let answered: (id: JSON, language: String)?
    }

    /// Runs a method on its own, on the server's service.
    private func alone(_ method: MethodTable.Entry, _ params: JSON, _ language: String) throws -> [UInt8] {
        try method.invoke(params, contexts[language] ?? RequestContext(language: language, service: table.service))
    }

    private func handle(_ message: JSON, fallback: String,
                        invoke: (MethodTable.Entry, JSON, String) throws -> [UInt8]) -> Handled {
        func refused(_ reply: [UInt8]?) -> Handled {
            Handled(reply: reply, answered: nil)
        }
        guard case .object = message else {
            return refused(frame(id: .null, error: messages.error(.invalidRequest, language: fallback)))
        }
        let idMember = message["id"]
        let id: JSON
        switch idMember {
        case nil, .null?: id = .null
        case .string?, .number?: id = idMember!
        default:
            return refused(frame(id: .null, error: messages.error(.invalidRequest, language: fallback)))
        }
        let isNotification = idMember == nil
        guard message["jsonrpc"] == .string("2.0"), case .string(let name)? = message["method"] else {
            return refused(frame(id: id, error: messages.error(.invalidRequest, language: fallback)))
        }

        var params = message["params"] ?? .object([])
        var language = fallback
        switch params {
        case .object(var members):
            if let index = members.firstIndex(where: { $0.key == "locale" }) {
                // `null` is the server's language, as rpc.discover publishes
                // it (`["string", "null"]`) and as every other optional param takes it.
                switch members[index].value {
                case .string(let locale): language = localizer.language(for: locale, default: defaultLocale)
                case .null: break
                default:
                    return refused(isNotification ? nil : frame(id: id, error: messages.params(
                        ParamsError(field: "locale", kind: .type(expected: "string")), language: fallback)))
                }
                members.remove(at: index)
                params = .object(members)
            }
        default:
            return refused(isNotification ? nil : frame(id: id, error: messages.params(
                ParamsError(field: "params", kind: .type(expected: "object")), language: fallback)))
        }

        guard let method = methods[name] else {
            return refused(isNotification ? nil : frame(id: id, error: messages.error(
                .methodNotFound, ["method": .text(keyFormat.redacted(name))], language: language)))
        }
        let reply: [UInt8]
        var succeeded = false
        do {
            reply = frame(id: id, result: try invoke(method, params, language))
            succeeded = true
        } catch let error as ParamsError {
            reply = frame(id: id, error: messages.params(error, language: language))
        } catch let error as ServiceError {
            if error.code == .storageFailure { logStorageFailure(error, method: name) }
            reply = frame(id: id, error: messages.service(error, language: language))
        } catch {
            // Details stay in the log; the caller learns only that it failed.
            logger.error("internal error", metadata: ["method": "\(name)", "error": "\(String(reflecting: type(of: error)))"])
            reply = frame(id: id, error: messages.error(.internalError, language: language))
        }
        return Handled(reply: isNotification ? nil : reply,
                       answered: succeeded && !isNotification ? (id, language) : nil)
    }

    private struct DiscoverPlaceholder: Error {}

    private func frame(id: JSON, result: [UInt8]) -> [UInt8] {
        var writer = JSONWriter(capacity: result.count + 48)
        writer.raw(#"{"jsonrpc":"2.0","id":"#)
        writer.write(id)
        writer.raw(#","result":"#)
        writer.raw(result)
        writer.raw("}")
        return writer.bytes
    }

    private func frame(id: JSON, error: RPCError) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw(#"{"jsonrpc":"2.0","id":"#)
        writer.write(id)
        writer.raw(#","error":"#)
        writer.write(error.wire)
        writer.raw("}")
        return writer.bytes
    }
}

import Foundation
import KeyStore
import KeyStorePostgres
import KeygateTestSupport
import KeygateLocalization
import KeygateRPC
import KeygateService
import Logging
import PlanCatalog

enum Repository {
    static let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// An RPC server on a catalog of Plans/ (the shipped one unless named) and
/// an in-memory database (or a fresh schema of the test PostgreSQL
/// server), on the system's clock unless given another.
struct RPCFixture {
    let server: RPCServer
    let service: KeygateService
    let storage: any KeygateStorage

    init(catalog file: String = "plans.xml", backend: Backend = .sqlite, clock: any WallClock = SystemClock(),
         table extra: ((inout MethodTable) -> Void)? = nil) throws {
        let catalog = try PlanCatalog.load(contentsOf: Repository.root.appending(path: "Plans/\(file)"))
        let localizer = try Localizer.load(directory: Repository.root.appending(path: "Localization"), logger: Logger(label: "test"))
        let rules = KeyRules(catalog: catalog)
        switch backend {
        case .sqlite:
            storage = SQLiteKeyStorage(database: try KeyDatabase.inMemory(), rules: rules, clock: clock)
        case .postgres, .pooled:
            storage = try PostgresKeyStorage(url: try backend.freshPostgresURL()!, rules: rules, clock: clock, freshness: .strict,
                                             poolMode: backend.poolMode)
        }
        service = KeygateService(catalog: catalog, storage: storage, clock: clock)
        var table = KeygateMethods.table(service: service, localizer: localizer)
        extra?(&table)
        server = RPCServer(table: table, catalog: catalog, localizer: localizer, defaultLocale: nil, logger: Logger(label: "test"))
    }

    /// The raw reply to one line, or nil when there is none.
    func send(_ line: String) -> String? {
        var line = line
        return line.withUTF8 { server.reply(to: $0) }.map { String(decoding: $0, as: UTF8.self) }
    }

    func send(bytes: [UInt8]) -> String? {
        bytes.withUnsafeBufferPointer { server.reply(to: $0) }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The reply parsed, for tests that look inside it.
    func call(_ line: String) throws -> [String: Any] {
        let reply = try require_(send(line))
        return try JSONSerialization.jsonObject(with: Data(reply.utf8)) as! [String: Any]
    }

    func request(_ method: String, _ params: [String: Any], id: Int = 1) throws -> [String: Any] {
        let body: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method, "params": params]
        let line = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try call(line)
    }
}

struct MissingReply: Error {}

func require_<T>(_ value: T?) throws -> T {
    guard let value else { throw MissingReply() }
    return value
}

extension Dictionary where Key == String, Value == Any {
    var error: [String: Any]? { self["error"] as? [String: Any] }
    var errorCode: Int? { error?["code"] as? Int }
    var errorData: [String: Any]? { error?["data"] as? [String: Any] }
    var result: [String: Any]? { self["result"] as? [String: Any] }
}

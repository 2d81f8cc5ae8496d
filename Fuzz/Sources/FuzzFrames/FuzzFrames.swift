import Foundation
import KeyStore
import KeygateLocalization
import KeygateRPC
import KeygateService
import Logging
import PlanCatalog

/// The server every input goes to: the shipped catalog and languages, an
/// in-memory database, built once (libFuzzer calls the entry point in a loop).
let server: RPCServer = {
    let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    do {
        let catalog = try PlanCatalog.load(contentsOf: repository.appending(path: "Plans/plans.xml"))
        let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
        let localizer = try Localizer.load(directory: repository.appending(path: "Localization"), logger: logger)
        let storage = SQLiteKeyStorage(database: try KeyDatabase.inMemory(), rules: KeyRules(catalog: catalog))
        let service = KeygateService(catalog: catalog, storage: storage)
        return RPCServer(table: KeygateMethods.table(service: service, localizer: localizer), catalog: catalog,
                         localizer: localizer, defaultLocale: nil, logger: logger)
    } catch {
        fatalError("cannot set up the server: \(error)")
    }
}()


/// One line of input to `keygate serve`. The reply, if any, must be one
/// JSON-RPC message or a batch of them. libFuzzer's runtime refers to this
/// name even when started through its driver.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let reply = server.reply(to: UnsafeBufferPointer(start: data, count: size)) else { return 0 }
    precondition(reply.starts(with: Array(#"{"jsonrpc":"2.0","id":"#.utf8)) || reply.first == UInt8(ascii: "["),
                 "not a JSON-RPC reply: \(String(decoding: reply.prefix(200), as: UTF8.self))")
    return 0
}

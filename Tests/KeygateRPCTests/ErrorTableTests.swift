import Foundation
import KeygateLocalization
@testable import KeygateRPC
import KeygateService
import Logging
import Testing

/// The error table is the one place a code gets its meaning; these tests
/// hold every row against the String Catalogs in every language.
@Suite("The error table")
struct ErrorTableTests {
    let localizer = try! Localizer.load(directory: Repository.root.appending(path: "Localization"), logger: Logger(label: "test"))

    /// Every message of a code (its own and its variants), in every
    /// language, rendered with every value the code's row names: no
    /// placeholder is left, and no message names a value the row does not.
    @Test func everyCodeRendersInEveryLanguageWithTheArgumentsItPasses() throws {
        var rows: [(key: String, row: ErrorTable.Row)] = []
        for code in ServiceError.Code.allCases { rows.append(("error.\(code.rawValue)", ErrorTable.row(code))) }
        for code in ProtocolError.allCases { rows.append(("rpc.\(code.rawValue)", ErrorTable.row(code))) }
        let allKeys = localizer.keys
        for (key, row) in rows {
            #expect(localizer.contains(key), "\(key) has no message")
            let variants = allKeys.filter { $0 == key || $0.hasPrefix(key + ".") }
            for variant in variants {
                let named = localizer.placeholders(of: variant)
                #expect(named.isSubset(of: row.arguments), "\(variant) shows \(named.subtracting(row.arguments).sorted()), which its row does not name")
                let arguments = Dictionary(uniqueKeysWithValues: row.arguments.map { name -> (String, MessageArgument) in
                    (name, name.hasSuffix("Name") ? .message("plan.pro") : name.hasSuffix("At") ? .date(.now) : .number(3))
                })
                for language in localizer.languages {
                    let text = localizer.string(variant, arguments, language: language)
                    #expect(!text.contains("{") && !text.contains("%#@") && !text.contains("%arg"), "\(variant) [\(language)]: \(text)")
                }
            }
        }
    }

    @Test func domainCodesKeepTheirDocumentedNumbersAndStatuses() {
        #expect(ErrorTable.row(.notFound).rpcCode == -32001 && ErrorTable.row(.notFound).httpStatus == 404)
        #expect(ErrorTable.row(.planForbidsAPIKeys).rpcCode == -32002 && ErrorTable.row(.planForbidsAPIKeys).httpStatus == 403)
        #expect(ErrorTable.row(.keyRevoked).rpcCode == -32003 && ErrorTable.row(.keyRevoked).httpStatus == 409)
        #expect(ErrorTable.row(.invalidKey).rpcCode == -32004 && ErrorTable.row(.invalidKey).httpStatus == 401)
        #expect(ErrorTable.row(.storageFailure).rpcCode == -32005 && ErrorTable.row(.storageFailure).httpStatus == 503)
        #expect(ErrorTable.row(.invalidName).rpcCode == -32602 && ErrorTable.row(.invalidName).httpStatus == 400)
        #expect(ErrorTable.row(.requestTooLarge).httpStatus == 413)
    }
}

/// docs/PROTOCOL.md lists every code with the numbers the table gives it.
@Suite("The documented error codes")
struct DocumentedErrorCodesTests {
    @Test func theProtocolPageListsEveryCodeWithItsNumbers() throws {
        let page = try String(contentsOf: Repository.root.appending(path: "docs/PROTOCOL.md"), encoding: .utf8)
        let row = try Regex(#"^\| `([a-z_]+)` \| (-\d+) \| (\d+) \|"#).anchorsMatchLineEndings()
        var documented: [String: (Int, Int)] = [:]
        for match in page.matches(of: row) {
            let output = match.output
            documented[String(output[1].substring!)] = (Int(output[2].substring!)!, Int(output[3].substring!)!)
        }
        var table: [String: (Int, Int)] = [:]
        for code in ServiceError.Code.allCases {
            table[code.rawValue] = (ErrorTable.row(code).rpcCode, ErrorTable.row(code).httpStatus)
        }
        for code in ProtocolError.allCases {
            table[code.rawValue] = (ErrorTable.row(code).rpcCode, ErrorTable.row(code).httpStatus)
        }
        #expect(Set(documented.keys) == Set(table.keys))
        for (code, numbers) in table {
            #expect(documented[code].map { $0 == numbers } == true, "\(code): documented \(String(describing: documented[code])), table \(numbers)")
        }
    }
}

import Foundation
import KeygateLocalization
import KeygateRPC
import Logging
import PlanCatalog
import Testing

/// The lines of a `keygate import` file that are not a key: each refusal
/// says what is wrong with that line, as `keygate serve` would say it.
@Suite("Import lines")
struct ImportLinesTests {
    let lines: ImportLines

    init() throws {
        let catalog = try PlanCatalog.load(contentsOf: Repository.root.appending(path: "Plans/plans.xml"))
        let localizer = try Localizer.load(directory: Repository.root.appending(path: "Localization"), logger: Logger(label: "test"))
        lines = ImportLines(localizer: localizer, catalog: catalog)
    }

    func refused(_ line: String) -> ImportLines.Refusal? {
        if case .failure(let refusal) = lines.request(line, actor: nil) { return refusal }
        return nil
    }

    /// JSON that is not an object is not called invalid JSON: it is told
    /// what a line must be.
    @Test(arguments: ["[1,2]", "\"org_1\"", "42", "null", "[{\"organizationId\":\"org_1\"}]"])
    func jsonThatIsNotAnObjectIsToldWhatALineIs(line: String) throws {
        let refusal = try #require(refused(line))
        #expect(refusal.code == "invalid_request")
        #expect(refusal.message == "A line of an import file is one key: a JSON object with its organizationId.")
    }

    /// A line that is not JSON says which rule it broke, as serve does.
    @Test func aLineThatIsNotJSONSaysWhy() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        for (line, message) in [
            ("{\"organizationId\": ", "The request is not valid JSON."),
            (deep, "The request nests JSON more than 64 levels deep."),
            (#"{"name":"\ud800"}"#, "The request has a \\u escape for half of a surrogate pair without the other half: it stands for no character."),
        ] {
            let refusal = try #require(refused(line))
            #expect(refusal.code == "parse_error" && refusal.message == message, "\(line.prefix(20)): \(refusal)")
        }
    }
}

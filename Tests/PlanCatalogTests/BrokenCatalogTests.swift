import Foundation
import PlanCatalog
import Testing

/// Each catalog in Fixtures/broken is Fixtures/valid.xml with one fault (or,
/// for many-problems.xml, several); each must be refused with exactly the
/// problems listed here, at the right lines.
@Suite("Broken catalogs are refused with every problem and its line")
struct BrokenCatalogTests {
    struct Expected: Sendable, CustomTestStringConvertible {
        let file: String
        /// (line, column, a part of the message) for every problem, in order.
        let problems: [(line: Int?, column: Int?, message: String)]
        var testDescription: String { file }
    }

    static let corpus: [Expected] = [
        .init(file: "malformed-mismatched-tag", problems: [(14, 13, "Opening and ending tag mismatch: kind line 12 and kinds")]),
        .init(file: "malformed-not-xml", problems: [(1, 1, "Start tag expected")]),
        .init(file: "malformed-empty", problems: [(nil, nil, "the catalog file is empty")]),
        .init(file: "malformed-invalid-utf8", problems: [(8, 68, "Input is not proper UTF-8")]),
        .init(file: "malformed-truncated", problems: [(23, 1, "Premature end of data in tag catalog")]),
        .init(file: "doctype-billion-laughs", problems: [(2, nil, "a catalog must not have a DOCTYPE")]),
        .init(file: "doctype-external-entity", problems: [(2, nil, "a catalog must not have a DOCTYPE")]),
        .init(file: "wrong-namespace", problems: [(2, nil, "the root element must be <catalog xmlns=\"urn:keygate:catalog:1\">")]),
        .init(file: "schema-missing-attribute", problems: [(9, nil, "Element 'capability': The attribute 'description' is required but missing.")]),
        .init(file: "schema-unknown-element", problems: [(26, nil, "Element 'discount': This element is not expected. Expected is ( quotas ).")]),
        .init(file: "schema-rate-limit-out-of-range", problems: [(33, nil, "The value '5000' is greater than the maximum value allowed ('1000')")]),
        .init(file: "schema-bad-period", problems: [(40, nil, "The value 'week' is not an element of the set {'day', 'month', 'none'}")]),
        .init(file: "schema-bad-limit", problems: [(41, nil, "'lots' is not a valid value of the union type 'QuotaLimit'")]),
        .init(file: "schema-bad-prefix", problems: [(3, nil, "The value 'KG_' is not accepted by the pattern")]),
        .init(file: "legacy-format-unknown-environment", problems: [
            (6, nil, "legacy format 'qv_pk_' names the environment 'prod', which is not declared"),
        ]),
        .init(file: "legacy-format-overlapping", problems: [(7, nil, "legacy format 'qv_' overlaps 'qv_pk_'")]),
        .init(file: "legacy-format-own-prefix", problems: [(6, nil, "legacy format 'kg_old_' starts like this catalog's own keys ('kg_')")]),
        .init(file: "schema-legacy-format-digest", problems: [(6, nil, "The value 'md5' is not an element of the set {'sha256'}")]),
        .init(file: "schema-missing-quotas", problems: [(24, nil, "Element 'plan': Missing child element(s). Expected is ( quotas ).")]),
        .init(file: "schema-bad-method", problems: [
            (47, nil, "The value 'FETCH' is not an element of the set"),
            (47, nil, "'FETCH' is not a valid value of the list type 'HTTPMethods'"),
        ]),
        .init(file: "schema-keys-and-no-keys", problems: [(33, nil, "Element 'apiKeys': This element is not expected.")]),
        .init(file: "unknown-capability-in-kind", problems: [
            (16, nil, "kind 'partner' names unknown capability 'booking.cancel'"),
            (35, nil, "plan 'pro' allows kind 'partner', but none of that kind's capabilities is allowed on the plan"),
        ]),
        .init(file: "unknown-capability-in-plan", problems: [
            (36, nil, "plan 'pro' names unknown capability 'bookings.read'; did you mean 'booking.read'?"),
        ]),
        .init(file: "unknown-kind-in-plan", problems: [(35, nil, "plan 'pro' names unknown kind 'reseller'")]),
        .init(file: "duplicate-capability", problems: [
            (9, nil, "capability 'booking.read' is declared twice (first on line 8)"),
            (16, nil, "kind 'partner' names unknown capability 'booking.create'"),
            (35, nil, "plan 'pro' allows kind 'partner', but none of that kind's capabilities"),
            (37, nil, "plan 'pro' names unknown capability 'booking.create'"),
            (47, nil, "route /bookings needs unknown capability 'booking.create'"),
        ]),
        .init(file: "duplicate-plan", problems: [(31, nil, "plan 'free' is declared twice (first on line 24)")]),
        .init(file: "duplicate-environment", problems: [(5, nil, "environment 'live' is declared twice (first on line 4)")]),
        .init(file: "duplicate-meter-source", problems: [
            (21, nil, "meter 'api.calls' counts verifications, which meter 'api.requests' already counts"),
        ]),
        .init(file: "missing-default-plan", problems: [(2, nil, "the default plan 'basic' is not a plan of this catalog")]),
        .init(file: "rate-limit-default-above-max", problems: [
            (33, nil, "plan 'pro' gives new keys 600 requests per minute by default, above its ceiling of 100"),
        ]),
        .init(file: "kind-without-usable-capability", problems: [
            (35, nil, "plan 'pro' allows kind 'partner', but none of that kind's capabilities is allowed on the plan"),
        ]),
        .init(file: "quota-unknown-meter", problems: [
            (31, nil, "plan 'pro' has no quota on meter 'api.requests'; every plan needs one per meter"),
            (40, nil, "plan 'pro' has a quota on unknown meter 'api.request'; did you mean 'api.requests'?"),
        ]),
        .init(file: "quota-missing-meter", problems: [
            (24, nil, "plan 'free' has no quota on meter 'api.requests'; every plan needs one per meter"),
        ]),
        .init(file: "quota-duplicate-meter", problems: [
            (42, nil, "plan 'pro' has a second quota on meter 'keys.active' (the first is on line 41)"),
        ]),
        .init(file: "active-keys-with-period", problems: [
            (41, nil, "meter 'keys.active' counts active keys, which never reset; its period must be 'none', not 'month'"),
        ]),
        .init(file: "no-api-keys-but-active-keys", problems: [
            (24, nil, "plan 'free' has no API keys, so its quota on 'keys.active' must be 0"),
        ]),
        .init(file: "api-keys-but-no-active-keys", problems: [
            (32, nil, "plan 'pro' has API keys but its quota on 'keys.active' allows 0 active keys; use <noApiKeys/> instead"),
        ]),
        .init(file: "unknown-capability-in-route", problems: [
            (47, nil, "route /bookings needs unknown capability 'booking.write'; did you mean 'booking.create'?"),
        ]),
        .init(file: "duplicate-route", problems: [(47, nil, "route GET /bookings is already mapped on line 46")]),
        .init(file: "duplicate-route-method", problems: [(46, nil, "route /bookings lists GET twice")]),
        .init(file: "plan-lists-capability-twice", problems: [(37, nil, "plan 'pro' lists capability 'booking.create' twice")]),
        .init(file: "bad-route-pattern", problems: [
            (47, nil, "route path '/bookings/**/notes': '**' may only be the last segment"),
        ]),
        .init(file: "many-problems", problems: [
            (2, nil, "the default plan 'basic' is not a plan of this catalog"),
            (16, nil, "kind 'partner' names unknown capability 'booking.cancel'"),
            (33, nil, "plan 'pro' gives new keys 600 requests per minute by default, above its ceiling of 100"),
            (35, nil, "plan 'pro' allows kind 'partner', but none of that kind's capabilities"),
            (47, nil, "route /bookings needs unknown capability 'booking.write'"),
        ]),
    ]

    @Test func theBaseOfTheCorpusIsValid() throws {
        let catalog = try PlanCatalog.load(contentsOf: Paths.fixture("valid.xml"))
        #expect(catalog.plans.map(\.id) == ["free", "pro"])
    }

    @Test func everyBrokenCatalogHasItsExpectedProblems() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Paths.fixture("broken").path)
            .filter { $0.hasSuffix(".xml") }.map { String($0.dropLast(4)) }
        #expect(Set(files) == Set(Self.corpus.map(\.file)))
        #expect(files.count >= 20)
    }

    @Test(arguments: corpus)
    func brokenCatalogIsRefused(_ expected: Expected) {
        let path = "Tests/PlanCatalogTests/Fixtures/broken/\(expected.file).xml"
        let url = URL(filePath: path, relativeTo: Paths.repository)
        #expect {
            try PlanCatalog.load(contentsOf: url)
        } throws: { error in
            let problems = (error as? CatalogError)?.problems ?? []
            guard problems.count == expected.problems.count else {
                Issue.record("\(problems.count) problems, expected \(expected.problems.count):\n\(problems)")
                return false
            }
            for (problem, wanted) in zip(problems, expected.problems) {
                #expect(problem.file == path)
                #expect(problem.line == wanted.line, "\(problem)")
                #expect(problem.column == wanted.column, "\(problem)")
                #expect(problem.message.contains(wanted.message), "\(problem)")
                #expect(!problem.message.contains("\n"), "one line per problem")
            }
            return true
        }
    }

    @Test func problemsPrintAsPathLineColumnMessage() {
        #expect(CatalogProblem(file: "p.xml", line: 3, column: 7, message: "bad").description == "p.xml:3:7: bad")
        #expect(CatalogProblem(file: "p.xml", line: 3, message: "bad").description == "p.xml:3: bad")
        #expect(CatalogProblem(file: "p.xml", line: nil, message: "bad").description == "p.xml: bad")
    }

    @Test func externalEntitiesAreNeverRead() throws {
        let url = Paths.fixture("broken/doctype-external-entity.xml")
        #expect {
            try PlanCatalog.load(contentsOf: url)
        } throws: { error in
            !"\(error)".contains("root:")
        }
    }

    @Test func aMissingFileIsAProblemOfTheWholeFile() {
        #expect {
            try PlanCatalog.load(contentsOf: URL(filePath: "/nonexistent/plans.xml"))
        } throws: { error in
            "\(error)" == "/nonexistent/plans.xml: no such file"
        }
    }

    @Test func aDirectoryIsNotACatalog() {
        #expect {
            try PlanCatalog.load(contentsOf: Paths.plans("examples"))
        } throws: { error in
            "\(error)".hasSuffix("examples: is a directory, not a catalog file")
        }
    }

    @Test func aCatalogAboveTheSizeLimitIsRefusedUnparsed() {
        let huge = Array(repeating: UInt8(ascii: " "), count: (8 << 20) + 1)
        #expect {
            try PlanCatalog.parse(huge, source: "huge.xml")
        } throws: { error in
            "\(error)".hasPrefix("huge.xml: the catalog is 8388609 bytes")
        }
    }

    @Test func problemsPastLine65535KeepTheirLineNumbers() throws {
        let text = try String(contentsOf: Paths.fixture("valid.xml"), encoding: .utf8)
            .replacingOccurrences(of: "  <capabilities>", with: String(repeating: "\n", count: 70_000) + "  <capabilities>")
            .replacingOccurrences(of: "<kind ref=\"partner\"/>", with: "<kind ref=\"reseller\"/>")
        #expect {
            try PlanCatalog.parse(Array(text.utf8), source: "long.xml")
        } throws: { error in
            (error as? CatalogError)?.problems.map(\.line) == [70_035]
        }
    }
}

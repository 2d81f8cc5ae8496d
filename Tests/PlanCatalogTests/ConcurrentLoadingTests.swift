import Foundation
import PlanCatalog
import Testing

@Suite("Loading from several threads")
struct ConcurrentLoadingTests {
    /// libxml2's error callbacks reach each load's own collector, so loads
    /// on several threads never see each other's problems.
    @Test func concurrentLoadsReportOnlyTheirOwnProblems() async throws {
        let good = Paths.plans("plans.xml")
        let bad = Paths.fixture("broken/many-problems.xml")
        let outcomes = await withTaskGroup(of: (Bool, Int).self) { group in
            for index in 0..<64 {
                group.addTask {
                    let isGood = index.isMultiple(of: 2)
                    do throws(CatalogError) {
                        _ = try PlanCatalog.load(contentsOf: isGood ? good : bad)
                        return (isGood, 0)
                    } catch {
                        return (isGood, error.problems.count)
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.count == 64)
        for (isGood, problems) in outcomes {
            #expect(problems == (isGood ? 0 : 5))
        }
    }
}

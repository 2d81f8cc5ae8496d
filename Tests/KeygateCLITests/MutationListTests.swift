import Foundation
import KeygateTestSupport
import Testing

/// Scripts/mutations.txt names the source text each mutation changes
/// (docs/TESTING.md). A line rewritten since leaves its mutation naming
/// nothing, found only when someone next runs the batch; the script's own
/// rule checks every one here, without building or mutating anything.
@Suite("The mutation list")
struct MutationListTests {
    @Test func everyMutationStillNamesTextThatOccursOnceInItsFile() throws {
        let run = try ToolRun("python3", [ServeProcess.repository.appending(path: "Scripts/mutate.py").path, "--check"],
                              in: ServeProcess.repository)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.hasPrefix("mutate: all "), "\(run.output)")
    }
}

import Foundation
import KeygateTestSupport

/// One run of a `keygate` command that ends by itself (`scan`, `import`):
/// its exit status and everything it wrote.
struct CommandRun {
    let status: Int32
    let output: String
    let errors: String

    init(_ arguments: [String], in folder: URL, input: String? = nil, executable: URL = ServeProcess.executable) throws {
        let run = try ToolRun(executable, arguments, in: folder, input: input)
        status = run.status
        output = run.output
        errors = run.errors
    }
}

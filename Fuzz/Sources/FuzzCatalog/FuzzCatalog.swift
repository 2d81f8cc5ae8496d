import Foundation
import PlanCatalog

/// One catalog document. It must load or be refused with problems, each
/// with a message; anything else (a crash, a hang, an address error) is
/// what libFuzzer and ASan report. libFuzzer's runtime refers to this name
/// even when started through its driver.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCatalog(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        _ = try PlanCatalog.parse(bytes, source: "fuzz.xml")
    } catch {
        precondition(!error.problems.isEmpty && error.problems.allSatisfy { !$0.message.isEmpty }, "a refusal without problems")
    }
    return 0
}

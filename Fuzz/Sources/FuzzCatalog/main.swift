import CLibFuzzer
import Foundation

// libFuzzer takes over: it reads its options and corpus folders from the
// command line and calls `fuzzCatalog` with each input it makes.
var arguments = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &argv) { data, size in fuzzCatalog(data, size) })

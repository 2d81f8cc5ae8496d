@preconcurrency internal import CLibXML2
internal import Foundation

/// Collects libxml2's errors for one catalog as ``CatalogProblem``s.
///
/// libxml2 reports errors through C callbacks; each callback gets this sink
/// back through its context pointer, so nothing global is touched and
/// catalogs can be loaded on several threads at once.
final class DiagnosticSink {
    let file: String
    private(set) var problems: [CatalogProblem] = []

    init(file: String) {
        self.file = file
    }

    func add(line: Int?, column: Int? = nil, _ message: String) {
        problems.append(CatalogProblem(file: file, line: line, column: column, message: message))
    }

    func add(_ error: xmlError) {
        guard error.level != XML_ERR_WARNING else { return }
        let line = error.line > 0 ? Int(error.line) : nil
        // Only the parser puts a column in int2; the validator leaves 0 there.
        let column = error.domain == Int32(XML_FROM_PARSER.rawValue) && error.int2 > 0 ? Int(error.int2) : nil
        add(line: line, column: column, Self.readable(error.message.map { String(cString: $0) } ?? "invalid XML"))
    }

    var opaque: UnsafeMutableRawPointer {
        Unmanaged.passUnretained(self).toOpaque()
    }

    static func from(_ opaque: UnsafeMutableRawPointer) -> DiagnosticSink {
        Unmanaged<DiagnosticSink>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// libxml2 names elements with their namespace in braces and breaks some
    /// messages over lines; a problem is one line, without the noise.
    private static func readable(_ message: String) -> String {
        message
            .replacingOccurrences(of: "{\(CatalogSchema.namespace)}", with: "")
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }
}

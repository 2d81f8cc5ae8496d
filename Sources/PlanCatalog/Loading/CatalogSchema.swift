@preconcurrency internal import CLibXML2

/// The catalog XSD, compiled once by libxml2.
///
/// A compiled schema is read-only while validating, so one instance serves
/// every thread; each validation gets its own context.
final class CatalogSchema: @unchecked Sendable {
    /// The namespace every catalog element is in.
    static let namespace = "urn:keygate:catalog:1"

    /// The schema compiled from ``PlanCatalog/schema``; it compiles in every test run, so a
    /// failure here is a defect of the shipped text, not of a user's catalog.
    static let shipped: CatalogSchema = {
        do {
            return try CatalogSchema(text: PlanCatalog.schema, source: "plans.xsd")
        } catch {
            fatalError("the schema built into PlanCatalog does not compile:\n\(error)")
        }
    }()

    private let schema: xmlSchemaPtr

    init(text: String, source: String) throws(CatalogError) {
        LibXML.initialize()
        let sink = DiagnosticSink(file: source)
        let compiled: xmlSchemaPtr? = text.utf8CString.withUnsafeBufferPointer { buffer in
            guard let parser = xmlSchemaNewMemParserCtxt(buffer.baseAddress, Int32(buffer.count - 1)) else {
                return nil
            }
            defer { xmlSchemaFreeParserCtxt(parser) }
            xmlSchemaSetParserStructuredErrors(parser, { context, error in
                guard let context, let error else { return }
                DiagnosticSink.from(context).add(error.pointee)
            }, sink.opaque)
            return withExtendedLifetime(sink) { xmlSchemaParse(parser) }
        }
        guard let compiled, sink.problems.isEmpty else {
            if let compiled { xmlSchemaFree(compiled) }
            throw CatalogError(problems: sink.problems.isEmpty
                ? [CatalogProblem(file: source, line: nil, message: "the schema could not be compiled")]
                : sink.problems)
        }
        schema = compiled
    }

    deinit {
        xmlSchemaFree(schema)
    }

    /// Validates a parsed document, reporting every violation to `sink`.
    func validate(_ document: xmlDocPtr, into sink: DiagnosticSink) {
        guard let context = xmlSchemaNewValidCtxt(schema) else {
            sink.add(line: nil, "the schema validator could not start (out of memory)")
            return
        }
        defer { xmlSchemaFreeValidCtxt(context) }
        xmlSchemaSetValidStructuredErrors(context, { context, error in
            guard let context, let error else { return }
            DiagnosticSink.from(context).add(error.pointee)
        }, sink.opaque)
        let result = withExtendedLifetime(sink) { xmlSchemaValidateDoc(context, document) }
        if result != 0 && sink.problems.isEmpty {
            sink.add(line: nil, "the catalog does not match the schema")
        }
    }
}

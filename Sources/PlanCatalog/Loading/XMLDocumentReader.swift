@preconcurrency internal import CLibXML2

/// Parses a catalog with libxml2 and validates it against the schema.
///
/// The parser never expands an external entity and never reaches the network,
/// and a catalog with a DOCTYPE is refused before its declarations are read:
/// a catalog needs none, and refusing it closes the door on entity bombs and
/// on entities that would read local files.
enum XMLDocumentReader {
    /// No honest catalog comes near this; a larger file is refused unread.
    static let maximumSize = 8 << 20

    /// The catalog's root element, or `nil` with every problem found reported to `sink`.
    static func read(_ bytes: [UInt8], schema: CatalogSchema, into sink: DiagnosticSink) -> XMLElementNode? {
        guard bytes.count <= maximumSize else {
            sink.add(line: nil, "the catalog is \(bytes.count) bytes; a catalog may have at most \(maximumSize)")
            return nil
        }
        guard !bytes.isEmpty else {
            sink.add(line: nil, "the catalog file is empty")
            return nil
        }
        LibXML.initialize()
        return bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { characters in
                guard let parser = xmlCreateMemoryParserCtxt(characters.baseAddress, Int32(characters.count)) else {
                    sink.add(line: nil, "the XML parser could not start (out of memory)")
                    return nil
                }
                defer {
                    if let document = parser.pointee.myDoc { xmlFreeDoc(document) }
                    xmlFreeParserCtxt(parser)
                }
                return withExtendedLifetime(sink) {
                    parse(with: parser, schema: schema, into: sink)
                }
            }
        }
    }

    private static func parse(with parser: xmlParserCtxtPtr, schema: CatalogSchema, into sink: DiagnosticSink)
        -> XMLElementNode?
    {
        // XML_PARSE_NOENT is deliberately absent: it would substitute entities,
        // external ones included, even with XML_PARSE_NONET.
        xmlCtxtUseOptions(parser, Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue))
        parser.pointee._private = sink.opaque
        parser.pointee.sax.pointee.serror = { context, error in
            guard let context, let error else { return }
            let parser = context.assumingMemoryBound(to: xmlParserCtxt.self)
            DiagnosticSink.from(parser.pointee._private).add(error.pointee)
        }
        parser.pointee.sax.pointee.internalSubset = { context, _, _, _ in
            guard let context else { return }
            let parser = context.assumingMemoryBound(to: xmlParserCtxt.self)
            DiagnosticSink.from(parser.pointee._private).add(
                line: Int(xmlSAX2GetLineNumber(context)),
                "a catalog must not have a DOCTYPE (DTDs and entities are not allowed)"
            )
            xmlStopParser(parser)
        }
        xmlParseDocument(parser)

        guard sink.problems.isEmpty else { return nil }
        guard parser.pointee.wellFormed != 0, let document = parser.pointee.myDoc,
            let root = xmlDocGetRootElement(document)
        else {
            sink.add(line: nil, "the catalog is not well-formed XML")
            return nil
        }
        let namespace = root.pointee.ns?.pointee.href.map { String(cString: $0) }
        guard namespace == CatalogSchema.namespace, String(cString: root.pointee.name) == "catalog" else {
            sink.add(
                line: line(of: root),
                "the root element must be <catalog xmlns=\"\(CatalogSchema.namespace)\">"
            )
            return nil
        }
        schema.validate(document, into: sink)
        guard sink.problems.isEmpty else { return nil }
        return element(root)
    }

    /// Copies a validated element; the schema bounds the depth of the recursion.
    private static func element(_ node: xmlNodePtr) -> XMLElementNode {
        var attributes: [String: String] = [:]
        var attribute = node.pointee.properties
        while let current = attribute {
            attributes[String(cString: current.pointee.name)] = text(of: current.pointee.children)
            attribute = current.pointee.next
        }
        var children: [XMLElementNode] = []
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE {
                children.append(element(current))
            }
            child = current.pointee.next
        }
        return XMLElementNode(
            name: String(cString: node.pointee.name),
            attributes: attributes,
            children: children,
            line: line(of: node)
        )
    }

    /// An element's line. libxml2 keeps lines in 16 bits and, past 65535
    /// (XML_PARSE_BIG_LINES), borrows the line of a neighbouring text node:
    /// `xmlGetLineNo` asks the next one, which for an empty element ends a
    /// line later. The text before the element ends on the element's own line.
    private static func line(of node: xmlNodePtr) -> Int {
        if node.pointee.line < 65535 { return Int(node.pointee.line) }
        if let previous = node.pointee.prev, previous.pointee.type == XML_TEXT_NODE, let line = previous.pointee.psvi {
            return Int(bitPattern: line)
        }
        return Int(xmlGetLineNo(node))
    }

    /// An attribute's value: the text of its nodes, which are plain text here
    /// because a catalog has no DTD to declare entities in.
    private static func text(of first: xmlNodePtr?) -> String {
        var text = ""
        var node = first
        while let current = node {
            if let content = current.pointee.content {
                text += String(cString: content)
            }
            node = current.pointee.next
        }
        return text
    }
}

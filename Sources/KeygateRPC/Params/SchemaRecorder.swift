import Foundation
import KeygateJSON

/// Derives the JSON Schema of a method's params from their `Decodable`
/// type by decoding it with a decoder that writes down every member asked
/// for, its type and whether it is optional. Params are decoded by the same
/// conformance (``ParamsDecoder``), so the schema describes exactly what the
/// server accepts; nothing is maintained by hand beside the types.
enum SchemaRecorder {
    static func schema<T: Decodable>(of type: T.Type, in context: SchemaContext) -> JSON {
        let node = Node()
        _ = try? Recorder(node: node, context: context).decodeValue(T.self)
        return node.json
    }

    final class Node {
        var schema: JSON?
        var properties: [(name: String, node: Node, required: Bool)]?
        var items: Node?
        /// What a ``ConstrainedParam`` checks beyond its shape.
        var constraints: [(key: String, value: JSON)] = []

        var json: JSON {
            guard case .object(let members) = shape, !constraints.isEmpty else { return shape }
            return .object(members + constraints)
        }

        private var shape: JSON {
            if let schema { return schema }
            if let items { return ["type": "array", "items": items.json] }
            guard let properties else { return [:] }
            // An optional param may also be sent as null.
            return Schema.object(properties.map { ($0.name, $0.required ? $0.node.json : Schema.nullable($0.node.json)) },
                                 required: properties.filter(\.required).map(\.name))
        }
    }

    private struct Recorder: Decoder {
        let node: Node
        let context: SchemaContext
        var codingPath: [any CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            if node.properties == nil { node.properties = [] }
            return KeyedDecodingContainer(Keyed<Key>(node: node, context: context))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let items = node.items ?? Node()
            node.items = items
            return Unkeyed(items: items, context: context)
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer {
            Single(node: node, context: context)
        }

        func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
            if let value = Self.primitive(type, node: node) { return value }
            if let closed = T.self as? any WireEnum.Type, let example = closed.example as? T {
                node.schema = closed.schema(context)
                return example
            }
            let value = try T(from: self)
            if let constrained = T.self as? any ConstrainedParam.Type { node.constraints += constrained.constraints }
            return value
        }

        static func primitive<T>(_ type: T.Type, node: Node) -> T? {
            func set(_ name: String, format: String? = nil) {
                var members: [(key: String, value: JSON)] = [("type", .string(name))]
                if let format { members.append(("format", .string(format))) }
                node.schema = .object(members)
            }
            switch type {
            case is String.Type: set("string"); return "" as? T
            case is Int.Type: set("integer"); return 0 as? T
            case is Bool.Type: set("boolean"); return false as? T
            case is Double.Type: set("number"); return 0.0 as? T
            case is Date.Type: set("string", format: "date-time"); return Date(timeIntervalSince1970: 0) as? T
            case is UTCDay.Type: set("string", format: "date"); return UTCDay(start: Date(timeIntervalSince1970: 0)) as? T
            default: return nil
            }
        }
    }

    private struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let node: Node
        let context: SchemaContext
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { [] }

        func contains(_ key: Key) -> Bool { true }

        func decodeNil(forKey key: Key) throws -> Bool { false }

        private func child(_ key: Key, required: Bool) -> Node {
            if let existing = node.properties?.first(where: { $0.name == key.stringValue }) { return existing.node }
            let child = Node()
            node.properties?.append((key.stringValue, child, required))
            return child
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try Recorder(node: child(key, required: true), context: context).decodeValue(T.self)
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            let child = child(key, required: false)
            _ = try? Recorder(node: child, context: context).decodeValue(T.self)
            return nil
        }

        func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { optional(type, key) }
        func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { optional(type, key) }
        func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { optional(type, key) }
        func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { optional(type, key) }

        private func optional<T>(_ type: T.Type, _ key: Key) -> T? {
            _ = Recorder.primitive(type, node: child(key, required: false))
            return nil
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try Recorder(node: child(key, required: true), context: context).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try Recorder(node: child(key, required: true), context: context).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { Recorder(node: node, context: context) }
        func superDecoder(forKey key: Key) throws -> any Decoder { Recorder(node: child(key, required: true), context: context) }
    }

    /// Reads one element, to learn the item type, then reports the end.
    private struct Unkeyed: UnkeyedDecodingContainer {
        let items: Node
        let context: SchemaContext
        var codingPath: [any CodingKey] { [] }
        var count: Int? { nil }
        var currentIndex = 0
        var isAtEnd: Bool { currentIndex > 0 }

        mutating func decodeNil() throws -> Bool { false }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            currentIndex += 1
            return try Recorder(node: items, context: context).decodeValue(T.self)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            currentIndex += 1
            return try Recorder(node: items, context: context).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            currentIndex += 1
            return try Recorder(node: items, context: context).unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            currentIndex += 1
            return Recorder(node: items, context: context)
        }
    }

    private struct Single: SingleValueDecodingContainer {
        let node: Node
        let context: SchemaContext
        var codingPath: [any CodingKey] { [] }

        func decodeNil() -> Bool { false }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try Recorder(node: node, context: context).decodeValue(T.self)
        }

        func decode(_ type: String.Type) throws -> String { Recorder.primitive(type, node: node) ?? "" }
        func decode(_ type: Int.Type) throws -> Int { Recorder.primitive(type, node: node) ?? 0 }
        func decode(_ type: Bool.Type) throws -> Bool { Recorder.primitive(type, node: node) ?? false }
        func decode(_ type: Double.Type) throws -> Double { Recorder.primitive(type, node: node) ?? 0 }
    }
}

public import Foundation
public import KeygateJSON

/// A value as it goes on the wire: how it is written and how `rpc.discover`
/// describes it, from one declaration, so the two cannot drift.
///
/// ```swift
/// struct Usage: WireObject {
///     var valid: Int
///     var lastUsedAt: Date?
///     static let fields: [WireField<Usage>] = [.init("valid", { $0.valid }), .init("lastUsedAt", { $0.lastUsedAt })]
/// }
/// // schema: {"type":"object","properties":{"valid":{"type":"integer"},
/// //          "lastUsedAt":{"type":["string","null"],"format":"date-time"}},"required":[…],…}
/// ```
public protocol WireValue: Sendable {
    /// The JSON Schema of every value of this type.
    static func schema(_ context: SchemaContext) -> JSON
    /// The value's JSON text, appended to `writer`: what a reply carries,
    /// written straight from the value, with no ``JSON`` tree in between.
    func write(to writer: inout JSONWriter)
}

/// What a schema may name that only the loaded catalog knows: its plans,
/// kinds, capabilities, meters and key environments.
public struct SchemaContext: Sendable {
    public var plans: [String] = []
    public var kinds: [String] = []
    public var capabilities: [String] = []
    public var meters: [String] = []
    public var environments: [String] = []
    public var eventTypes: [String] = []
    public var auditActions: [String] = []

    public init() {}
}

/// A closed set of names, written as a string and described as an `enum`.
/// Decodable too, so a closed set can be a param (``ParamsDecoder`` names the
/// allowed values when one is not).
public protocol WireEnum: WireValue, RawRepresentable<String>, CaseIterable, Decodable {}

extension WireEnum {
    public static func schema(_ context: SchemaContext) -> JSON {
        ["type": "string", "enum": .array(allCases.map { .string($0.rawValue) })]
    }

    public func write(to writer: inout JSONWriter) {
        writer.string(rawValue)
    }

    static var names: [String] { allCases.map(\.rawValue) }

    /// The value a param names, `nil` outside the set: looked up in
    /// `allCases` rather than by `init(rawValue:)`, which for an open set
    /// such as `EventType` takes any name.
    static func named(_ name: String) -> Self? { allCases.first { $0.rawValue == name } }

    /// Any one value, for ``SchemaRecorder`` to go on with.
    static var example: Any? { allCases.first }
}

/// An object with a fixed set of members, every one always present
/// (`null` where there is no value), so `required` lists them all.
public protocol WireObject: WireValue {
    static var fields: [WireField<Self>] { get }
}

extension WireObject {
    public static func schema(_ context: SchemaContext) -> JSON {
        Schema.object(fields.map { ($0.name, $0.schema(context)) }, required: fields.map(\.name))
    }

    public func write(to writer: inout JSONWriter) {
        writer.raw(UInt8(ascii: "{"))
        // By index, reaching only the two parts a reply needs: binding each
        // field retained and released all four of its parts.
        let fields = Self.fields
        for index in fields.indices {
            if index > 0 { writer.raw(UInt8(ascii: ",")) }
            writer.raw(fields[index].key)
            fields[index].write(self, &writer)
        }
        writer.raw(UInt8(ascii: "}"))
    }
}

/// One member of a ``WireObject``: its name, how it is read from the value
/// and how it is described.
public struct WireField<Root>: Sendable {
    let name: String
    /// `"name":`, as written before every value.
    let key: [UInt8]
    let schema: @Sendable (SchemaContext) -> JSON
    let write: @Sendable (Root, inout JSONWriter) -> Void

    /// A member read by `get` (a closure rather than a key path: a reply
    /// reads every member, and a closure reads it without the key path
    /// machinery).
    public init<Value: WireValue>(_ name: String, _ get: @escaping @Sendable (Root) -> Value, _ description: String? = nil) {
        self.init(name, schema: { Schema.describe(Value.schema($0), description) }, get)
    }

    /// A string from a set the catalog defines (``SchemaContext``).
    public init(_ name: String, _ get: @escaping @Sendable (Root) -> String,
                oneOf names: any KeyPath<SchemaContext, [String]> & Sendable, _ description: String? = nil) {
        self.init(name, schema: { Schema.describe(Schema.names($0[keyPath: names]), description) }, get)
    }

    /// A string of a JSON Schema `format` (`date`, a day as the store keeps it).
    public init(_ name: String, _ get: @escaping @Sendable (Root) -> String, format: String, _ description: String? = nil) {
        self.init(name, schema: { _ in Schema.describe(["type": "string", "format": .string(format)], description) }, get)
    }

    /// Strings from a set the catalog defines.
    public init(_ name: String, _ get: @escaping @Sendable (Root) -> [String],
                eachOf names: any KeyPath<SchemaContext, [String]> & Sendable, _ description: String? = nil) {
        self.init(name, schema: { Schema.describe(["type": "array", "items": Schema.names($0[keyPath: names])], description) },
                  get)
    }

    private init<Value: WireValue>(_ name: String, schema: @escaping @Sendable (SchemaContext) -> JSON,
                                   _ get: @escaping @Sendable (Root) -> Value) {
        self.name = name
        var quoted = JSONWriter(capacity: name.utf8.count + 3)
        quoted.string(name)
        quoted.raw(UInt8(ascii: ":"))
        key = quoted.bytes
        self.schema = schema
        write = { get($0).write(to: &$1) }
    }
}

/// Building blocks of the published JSON Schemas.
enum Schema {
    static func object(_ properties: [(String, JSON)], required: [String]) -> JSON {
        ["type": "object", "properties": .object(properties), "required": .array(required.map(JSON.string)),
         "additionalProperties": false]
    }

    /// The schema, or `null`.
    static func nullable(_ schema: JSON) -> JSON {
        if case .object(var members) = schema, schema["enum"] == nil, schema["anyOf"] == nil,
            let index = members.firstIndex(where: { $0.key == "type" }), case .string(let type) = members[index].value
        {
            members[index].value = [.string(type), "null"]
            return .object(members)
        }
        return ["anyOf": [schema, ["type": "null"]]]
    }

    static func names(_ names: [String]) -> JSON {
        names.isEmpty ? ["type": "string"] : ["type": "string", "enum": .array(names.map(JSON.string))]
    }

    static func describe(_ schema: JSON, _ description: String?) -> JSON {
        guard let description, case .object(var members) = schema else { return schema }
        members.append(("description", .string(description)))
        return .object(members)
    }
}

extension String: WireValue {
    public static func schema(_ context: SchemaContext) -> JSON { ["type": "string"] }
    public func write(to writer: inout JSONWriter) { writer.string(self) }
}

extension Int: WireValue {
    public static func schema(_ context: SchemaContext) -> JSON { ["type": "integer"] }
    public func write(to writer: inout JSONWriter) { writer.integer(self) }
}

extension Bool: WireValue {
    public static func schema(_ context: SchemaContext) -> JSON { ["type": "boolean"] }
    public func write(to writer: inout JSONWriter) { writer.raw(self ? "true" : "false") }
}

extension Date: WireValue {
    public static func schema(_ context: SchemaContext) -> JSON { ["type": "string", "format": "date-time"] }
    public func write(to writer: inout JSONWriter) {
        writer.raw(UInt8(ascii: "\""))
        writer.time(self)
        writer.raw(UInt8(ascii: "\""))
    }
}

/// Free-form JSON, such as an audit entry's details: always an object.
extension JSON: WireValue {
    public static func schema(_ context: SchemaContext) -> JSON { ["type": "object"] }
    public func write(to writer: inout JSONWriter) { writer.write(self) }
}

extension Optional: WireValue where Wrapped: WireValue {
    public static func schema(_ context: SchemaContext) -> JSON { Schema.nullable(Wrapped.schema(context)) }
    public func write(to writer: inout JSONWriter) {
        if let self { self.write(to: &writer) } else { writer.raw("null") }
    }
}

/// Counts by name, such as a day's verifications by capability: members
/// in name order, so the same counts always read the same.
extension Dictionary: WireValue where Key == String, Value: WireValue {
    public static func schema(_ context: SchemaContext) -> JSON {
        ["type": "object", "additionalProperties": Value.schema(context)]
    }

    public func write(to writer: inout JSONWriter) {
        writer.raw(UInt8(ascii: "{"))
        for (index, name) in keys.sorted().enumerated() {
            if index > 0 { writer.raw(UInt8(ascii: ",")) }
            writer.string(name)
            writer.raw(UInt8(ascii: ":"))
            self[name]!.write(to: &writer)
        }
        writer.raw(UInt8(ascii: "}"))
    }
}

extension Array: WireValue where Element: WireValue {
    public static func schema(_ context: SchemaContext) -> JSON { ["type": "array", "items": Element.schema(context)] }
    public func write(to writer: inout JSONWriter) {
        writer.raw(UInt8(ascii: "["))
        for (index, element) in enumerated() {
            if index > 0 { writer.raw(UInt8(ascii: ",")) }
            element.write(to: &writer)
        }
        writer.raw(UInt8(ascii: "]"))
    }
}

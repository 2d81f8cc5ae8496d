import Foundation
import KeygateJSON

/// Why params could not be decoded, naming the field at fault
/// (`capabilities[2]`, `expiresAt`).
struct ParamsError: Error, Equatable {
    enum Kind: Equatable {
        case missing
        /// The JSON type or form expected, such as "string" or "integer".
        case type(expected: String)
        /// A member no type reads, named as sent; ``ParamsError/field`` is
        /// the object holding it (empty at the top level). Kept apart
        /// because the name is the caller's text, echoed only redacted.
        case unknown(member: String)
        case value
        /// A list that must name at least one value, sent empty.
        case empty
        /// A name outside a closed set; the allowed names.
        case oneOf([String])
        /// Given together with another param that excludes it.
        case exclusive(with: String)
        /// Given without another param it needs.
        case requires(String)
        /// Missing, and so is the other param that could stand in its place.
        case missingEither(String)
    }

    let field: String
    let kind: Kind
}

/// Decodes params from a parsed ``JSON`` value into a typed value, so each
/// method states its params as a `Decodable` type. Beyond what `Decodable`
/// checks, it refuses members the type does not read.
struct ParamsDecoder {
    static func decode<T: Decodable>(_ type: T.Type, from json: JSON) throws(ParamsError) -> T {
        let tracker = KeyTracker()
        do {
            let value = try T(from: JSONValueDecoder(json: json, codingPath: [], tracker: tracker))
            if let unknown = tracker.firstUnknown(in: json) {
                throw ParamsError(field: unknown.parent, kind: .unknown(member: unknown.member))
            }
            return value
        } catch let error as ParamsError {
            throw error
        } catch let error as DecodingError {
            throw Self.paramsError(error)
        } catch {
            throw ParamsError(field: "", kind: .value)
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    private static func paramsError(_ error: DecodingError) -> ParamsError {
        switch error {
        case .keyNotFound(let key, let context):
            ParamsError(field: path(context.codingPath + [key]), kind: .missing)
        case .valueNotFound(_, let context):
            ParamsError(field: path(context.codingPath), kind: .missing)
        case .typeMismatch(_, let context):
            ParamsError(field: path(context.codingPath), kind: .type(expected: context.debugDescription))
        case .dataCorrupted(let context):
            ParamsError(field: path(context.codingPath), kind: .value)
        @unknown default:
            ParamsError(field: "", kind: .value)
        }
    }
}

/// The object members each decoded object's type asked for.
final class KeyTracker {
    /// Asked for at the top level, where nearly every member is: a method
    /// has a handful of params, and a short list beats building a path and
    /// hashing on every member read.
    private var topLevel: [String] = []
    private var nested: [String: Set<String>] = [:]

    func mark(_ key: String, at path: [any CodingKey]) {
        if path.isEmpty {
            if !topLevel.contains(key) { topLevel.append(key) }
        } else {
            nested[ParamsDecoder.path(path), default: []].insert(key)
        }
    }

    private func isKnown(_ key: String, at path: String) -> Bool {
        path.isEmpty ? topLevel.contains { $0.isSameText(as: key) }
            : nested[path]?.contains { $0.isSameText(as: key) } == true
    }

    /// The first member, depth first, that no type asked for, and the path
    /// of the object holding it.
    func firstUnknown(in json: JSON, at path: String = "") -> (parent: String, member: String)? {
        switch json {
        case .object(let members):
            for member in members {
                if !isKnown(member.key, at: path) { return (path, member.key) }
                let memberPath = path.isEmpty ? member.key : "\(path).\(member.key)"
                if let unknown = firstUnknown(in: member.value, at: memberPath) { return unknown }
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let unknown = firstUnknown(in: element, at: "\(path)[\(index)]") { return unknown }
            }
        default:
            break
        }
        return nil
    }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct JSONValueDecoder: Decoder {
    let json: JSON
    let codingPath: [any CodingKey]
    let tracker: KeyTracker
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = json else { throw mismatch("object") }
        return KeyedDecodingContainer(KeyedContainer<Key>(members: members, codingPath: codingPath, tracker: tracker))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = json else { throw mismatch("array") }
        return UnkeyedContainer(elements: elements, codingPath: codingPath, tracker: tracker)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValue(json: json, codingPath: codingPath, tracker: tracker)
    }

    func mismatch(_ expected: String) -> DecodingError {
        .typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: expected))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [(key: String, value: JSON)]
    let codingPath: [any CodingKey]
    let tracker: KeyTracker

    var allKeys: [Key] { members.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool {
        tracker.mark(key.stringValue, at: codingPath)
        return members.contains { $0.key.isSameText(as: key.stringValue) }
    }

    private func value(_ key: Key) throws -> JSON {
        tracker.mark(key.stringValue, at: codingPath)
        guard let value = members.first(where: { $0.key.isSameText(as: key.stringValue) })?.value else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        try value(key) == .null
    }

    /// One scan of the members for an optional param (the standard library's
    /// default asks `contains`, then `decodeNil`, then `decode`: three).
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try optional(type, key) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try optional(type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optional(type, key) }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try optional(type, key) }

    private func optional<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
        tracker.mark(key.stringValue, at: codingPath)
        guard let json = members.first(where: { $0.key.isSameText(as: key.stringValue) })?.value, json != .null else {
            return nil
        }
        return try SingleValue(json: json, codingPath: codingPath + [key], tracker: tracker).decode(T.self)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let json = try value(key)
        if json == .null {
            throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath + [key], debugDescription: "null"))
        }
        return try SingleValue(json: json, codingPath: codingPath + [key], tracker: tracker).decode(T.self)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try JSONValueDecoder(json: value(key), codingPath: codingPath + [key], tracker: tracker).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try JSONValueDecoder(json: value(key), codingPath: codingPath + [key], tracker: tracker).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        JSONValueDecoder(json: .object(members), codingPath: codingPath, tracker: tracker)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        JSONValueDecoder(json: try value(key), codingPath: codingPath + [key], tracker: tracker)
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSON]
    let codingPath: [any CodingKey]
    let tracker: KeyTracker
    var currentIndex = 0

    init(elements: [JSON], codingPath: [any CodingKey], tracker: KeyTracker) {
        self.elements = elements
        self.codingPath = codingPath
        self.tracker = tracker
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> (JSON, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "end"))
        }
        defer { currentIndex += 1 }
        return (elements[currentIndex], codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (json, path) = try next()
        if json == .null { throw DecodingError.valueNotFound(T.self, .init(codingPath: path, debugDescription: "null")) }
        return try SingleValue(json: json, codingPath: path, tracker: tracker).decode(T.self)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (json, path) = try next()
        return try JSONValueDecoder(json: json, codingPath: path, tracker: tracker).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (json, path) = try next()
        return try JSONValueDecoder(json: json, codingPath: path, tracker: tracker).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (json, path) = try next()
        return JSONValueDecoder(json: json, codingPath: path, tracker: tracker)
    }
}

private struct SingleValue: SingleValueDecodingContainer {
    let json: JSON
    let codingPath: [any CodingKey]
    let tracker: KeyTracker

    func decodeNil() -> Bool { json == .null }

    private func mismatch(_ expected: String) -> DecodingError {
        .typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: expected))
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let value) = json else { throw mismatch("boolean") }
        return value
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let value) = json else { throw mismatch("string") }
        return value
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .number(let text) = json, let value = Double(text), value.isFinite else { throw mismatch("number") }
        return value
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    /// A whole number, in any of JSON's notations: `1000`, `1000.0` and
    /// `1e3` alike, as JSON Schema's `integer` (what rpc.discover
    /// publishes) takes them; a client whose numbers are floating-point
    /// (Python's `json.dumps(100.0)`) writes `100.0`. `60.5` is refused as
    /// no whole number, never rounded. A whole number beyond `Int`
    /// (`99999999999999999999`, `1e30`) is read as `Int.max` or `Int.min`:
    /// it is a whole number, and every integer param's own range check
    /// then refuses it with the range the caller needs to know
    /// (`OddNumberTests` holds every one to that).
    func decode(_ type: Int.Type) throws -> Int {
        guard case .number(let text) = json, let value = Int(text) ?? Self.wholeNumber(text) else { throw mismatch("integer") }
        return value
    }

    /// The value of a JSON number written with a fraction, an exponent or
    /// more digits than `Int` holds, if it is a whole number: read from
    /// its digits, so that no magnitude is rounded into a whole number
    /// (`Decimal` holds 38 digits, `Double` 17). Beyond `Int`, the
    /// nearest end of `Int`.
    static func wholeNumber(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        var index = 0
        func digits() -> ArraySlice<UInt8> {
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return bytes[start..<index]
        }
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { index += 1 }
        let whole = digits()
        var fraction: ArraySlice<UInt8> = []
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            fraction = digits()
        }
        var exponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            let sign = index < bytes.count && bytes[index] == UInt8(ascii: "-") ? -1 : 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") { index += 1 }
            let written = digits()
            guard !written.isEmpty else { return nil }
            // Capped: past it the point lies beyond any digit a 64-character number holds.
            for digit in written { exponent = min(exponent * 10 + Int(digit - UInt8(ascii: "0")), 1_000) }
            exponent *= sign
        }
        guard !whole.isEmpty, index == bytes.count else { return nil }
        // The digits with the point `point` digits in: whole when every digit after it is a zero.
        let all = Array(whole) + Array(fraction)
        let point = whole.count + exponent
        guard all[max(0, min(point, all.count))...].allSatisfy({ $0 == UInt8(ascii: "0") }) else { return nil }
        var magnitude: UInt64 = 0
        var overflowed = false
        for position in 0..<max(0, point) {
            let digit = UInt64(position < all.count ? all[position] - UInt8(ascii: "0") : 0)
            let (times, timesOverflowed) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, sumOverflowed) = times.addingReportingOverflow(digit)
            if timesOverflowed || sumOverflowed {
                overflowed = true
                break
            }
            magnitude = sum
        }
        if negative {
            return overflowed || magnitude > UInt64(Int.max) + 1 ? Int.min : Int(truncatingIfNeeded: 0 &- magnitude)
        }
        return overflowed || magnitude > UInt64(Int.max) ? Int.max : Int(magnitude)
    }

    func decode(_ type: Int8.Type) throws -> Int8 { try narrow(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try narrow(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try narrow(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try narrow(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try narrow(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try narrow(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try narrow(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try narrow(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try narrow(type) }

    private func narrow<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard let value = T(exactly: try decode(Int.self)) else { throw mismatch("integer") }
        return value
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is String.Type: return try decode(String.self) as! T
        case is Int.Type: return try decode(Int.self) as! T
        case is Bool.Type: return try decode(Bool.self) as! T
        case is Double.Type: return try decode(Double.self) as! T
        case is Date.Type:
            guard case .string(let text) = json, let date = RFC3339.date(text) else { throw mismatch("date-time") }
            return date as! T
        case is UTCDay.Type:
            guard case .string(let text) = json, let start = RFC3339.date(day: text) else { throw mismatch("date") }
            return UTCDay(start: start) as! T
        case let closed as any WireEnum.Type:
            guard case .string(let text) = json else { throw mismatch("string") }
            guard let value = closed.named(text) else {
                throw ParamsError(field: ParamsDecoder.path(codingPath), kind: .oneOf(closed.names))
            }
            return value as! T
        default:
            return try T(from: JSONValueDecoder(json: json, codingPath: codingPath, tracker: tracker))
        }
    }
}

/// Params read straight from a request of the expected shape, without
/// `Decodable`: for the method called on every request of a product's API
/// (`keys.verify`), where decoding two strings through a `Decoder` was a
/// quarter of a reply's time (docs/PERFORMANCE.md). `direct` answers `nil`
/// for any other shape (a member it does not know, a type it does not
/// expect), and ``ParamsDecoder`` then decodes the request
/// and says what is wrong with it, so every refusal stays the one the
/// decoder gives.
protocol DirectParams: Sendable {
    static func direct(_ json: JSON) -> Self?
}

extension VerifyKey.Params: DirectParams {
    private static let names: Set<String> = ["key", "authorization", "capability", "method", "path", "origin", "ip", "cost"]

    static func direct(_ json: JSON) -> Self? {
        guard case .object(let members) = json else { return nil }
        // The parser has refused a member given twice.
        var params = Self()
        for member in members {
            switch (member.key, member.value) {
            case ("key", .string(let text)): params.key = text
            case ("authorization", .string(let text)): params.authorization = text
            case ("capability", .string(let text)): params.capability = text
            case ("method", .string(let text)): params.method = text
            case ("path", .string(let text)): params.path = text
            case ("origin", .string(let text)): params.origin = text
            case ("ip", .string(let text)): params.ip = text
            case ("cost", .number(let text)):
                guard let cost = Int(text) else { return nil }
                params.cost = cost
            // As `decodeIfPresent` reads it: absent.
            case (let name, .null) where names.contains(name): continue
            default: return nil
            }
        }
        return params
    }
}

/// `keys.create`'s params, the other request a product sends in bulk (a
/// migration, an import through the API): through the `Decoder` they were
/// about as much of a creation's time as writing its audit entry
/// (docs/PERFORMANCE.md).
extension CreateKey.Params: DirectParams {
    private static let optionalNames: Set<String> =
        ["expiresAt", "rateLimit", "allowedOrigins", "environment", "actor", "idempotencyKey"]

    static func direct(_ json: JSON) -> Self? {
        guard case .object(let members) = json else { return nil }
        var organizationId: String?, name: String?, kind: String?, capabilities: [String]?
        var expiresAt: Date?, rateLimit: Int?, allowedOrigins: [String]?, environment: String?, actor: String?
        var idempotencyKey: String?
        for member in members {
            switch (member.key, member.value) {
            case ("organizationId", .string(let text)): organizationId = text
            case ("name", .string(let text)): name = text
            case ("kind", .string(let text)): kind = text
            case ("capabilities", .array(let elements)):
                guard let list = strings(elements) else { return nil }
                capabilities = list
            case ("expiresAt", .string(let text)):
                guard let date = RFC3339.date(text) else { return nil }
                expiresAt = date
            case ("rateLimit", .number(let text)):
                guard let limit = Int(text) else { return nil }
                rateLimit = limit
            case ("allowedOrigins", .array(let elements)):
                guard let list = strings(elements) else { return nil }
                allowedOrigins = list
            case ("environment", .string(let text)): environment = text
            case ("actor", .string(let text)): actor = text
            case ("idempotencyKey", .string(let text)): idempotencyKey = text
            // As `decodeIfPresent` reads an optional one: absent. A required
            // one given as null is the decoder's to refuse.
            case (let name, .null) where optionalNames.contains(name): continue
            default: return nil
            }
        }
        guard let organizationId, let name, let kind, let capabilities else { return nil }
        return Self(organizationId: organizationId, name: name, kind: kind, capabilities: capabilities, expiresAt: expiresAt,
                    rateLimit: rateLimit, allowedOrigins: allowedOrigins, environment: environment, actor: actor,
                    idempotencyKey: idempotencyKey)
    }

    /// The elements as strings, `nil` if any is not one.
    private static func strings(_ elements: [JSON]) -> [String]? {
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for element in elements {
            guard case .string(let text) = element else { return nil }
            strings.append(text)
        }
        return strings
    }
}

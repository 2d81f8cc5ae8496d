import Foundation
import KeygateJSON

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

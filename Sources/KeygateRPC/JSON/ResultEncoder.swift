import Foundation

/// Encodes a result into a ``JSON`` value. Optional fields are written as
/// `null` rather than left out, so every documented field is always there.
struct ResultEncoder {
    static func encode(_ value: some Encodable) throws -> JSON {
        let box = Box()
        try encode(value, into: box, codingPath: [])
        return box.resolved()
    }

    fileprivate static func encode(_ value: some Encodable, into box: Box, codingPath: [any CodingKey]) throws {
        switch value {
        case let date as Date: box.value = .string(RFC3339.string(date))
        case let json as JSON: box.value = json
        default: try value.encode(to: ValueEncoder(box: box, codingPath: codingPath))
        }
    }
}

/// Where an encoded value goes; containers fill it as they are written to.
private final class Box {
    var value: JSON?
    var members: [(key: String, value: Box)]?
    var elements: [Box]?

    func resolved() -> JSON {
        if let members { return .object(members.map { ($0.key, $0.value.resolved()) }) }
        if let elements { return .array(elements.map { $0.resolved() }) }
        return value ?? .null
    }
}

private struct ValueEncoder: Encoder {
    let box: Box
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if box.members == nil { box.members = [] }
        return KeyedEncodingContainer(KeyedContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if box.elements == nil { box.elements = [] }
        return UnkeyedContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValue(box: box, codingPath: codingPath)
    }
}

private func encodeChild(_ value: some Encodable, codingPath: [any CodingKey]) throws -> Box {
    let child = Box()
    try ResultEncoder.encode(value, into: child, codingPath: codingPath)
    child.value = child.resolved()
    child.members = nil
    child.elements = nil
    return child
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: Box
    let codingPath: [any CodingKey]

    private func put(_ key: Key, _ child: Box) {
        box.members!.removeAll { $0.key == key.stringValue }
        box.members!.append((key.stringValue, child))
    }

    func encodeNil(forKey key: Key) throws {
        let child = Box()
        child.value = .null
        put(key, child)
    }

    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        put(key, try encodeChild(value, codingPath: codingPath + [key]))
    }

    func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = Box()
        put(key, child)
        return ValueEncoder(box: child, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = Box()
        put(key, child)
        return ValueEncoder(box: child, codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superEncoder() -> any Encoder { ValueEncoder(box: box, codingPath: codingPath) }
    func superEncoder(forKey key: Key) -> any Encoder {
        let child = Box()
        put(key, child)
        return ValueEncoder(box: child, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let box: Box
    let codingPath: [any CodingKey]
    var count: Int { box.elements!.count }

    func encodeNil() throws {
        let child = Box()
        child.value = .null
        box.elements!.append(child)
    }

    func encode<T: Encodable>(_ value: T) throws {
        box.elements!.append(try encodeChild(value, codingPath: codingPath))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = Box()
        box.elements!.append(child)
        return ValueEncoder(box: child, codingPath: codingPath).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = Box()
        box.elements!.append(child)
        return ValueEncoder(box: child, codingPath: codingPath).unkeyedContainer()
    }

    func superEncoder() -> any Encoder {
        let child = Box()
        box.elements!.append(child)
        return ValueEncoder(box: child, codingPath: codingPath)
    }
}

private struct SingleValue: SingleValueEncodingContainer {
    let box: Box
    let codingPath: [any CodingKey]

    func encodeNil() throws { box.value = .null }
    func encode(_ value: Bool) throws { box.value = .bool(value) }
    func encode(_ value: String) throws { box.value = .string(value) }
    func encode(_ value: Double) throws {
        guard value.isFinite else { throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "not finite")) }
        box.value = .number(value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)")
    }
    func encode(_ value: Float) throws { try encode(Double(value)) }
    func encode(_ value: Int) throws { box.value = .number(String(value)) }
    func encode(_ value: Int8) throws { box.value = .number(String(value)) }
    func encode(_ value: Int16) throws { box.value = .number(String(value)) }
    func encode(_ value: Int32) throws { box.value = .number(String(value)) }
    func encode(_ value: Int64) throws { box.value = .number(String(value)) }
    func encode(_ value: UInt) throws { box.value = .number(String(value)) }
    func encode(_ value: UInt8) throws { box.value = .number(String(value)) }
    func encode(_ value: UInt16) throws { box.value = .number(String(value)) }
    func encode(_ value: UInt32) throws { box.value = .number(String(value)) }
    func encode(_ value: UInt64) throws { box.value = .number(String(value)) }
    func encode<T: Encodable>(_ value: T) throws {
        try ResultEncoder.encode(value, into: box, codingPath: codingPath)
        box.value = box.resolved()
        box.members = nil
        box.elements = nil
    }
}

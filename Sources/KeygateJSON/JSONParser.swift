/// A strict JSON parser (RFC 8259) over UTF-8 bytes, with the limits a
/// server reading untrusted input needs: a maximum nesting depth, refusal
/// of invalid UTF-8, lone surrogates, repeated object members and numbers
/// of more than 64 characters.
///
/// Parsing costs time linear in the input, whatever its shape: the repeated
/// member check switches from a scan to a hash set once an object is large.
public struct JSONParser {
    public enum Failure: Error, Equatable {
        case invalidUTF8
        /// A `\u` escape of half a surrogate pair without its other half:
        /// valid JSON syntax that stands for no character (RFC 8259, 8.2).
        case loneSurrogate
        case tooDeep
        /// A number longer than ``maximumNumberLength``: valid JSON, and
        /// a limit RFC 8259 (section 9) lets a parser set.
        case numberTooLong
        case syntax(offset: Int)
    }

    public static let maximumDepth = 64
    /// Characters, sign and exponent included: longer than any value a
    /// parameter or an id sensibly holds.
    public static let maximumNumberLength = 64
    /// Up to this many members a linear scan beats hashing each key.
    private static let scanLimit = 16

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Parses one JSON text.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> JSON {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw .syntax(offset: parser.index) }
        return value
    }

    public static func parse(_ text: String) throws(Failure) -> JSON {
        var text = text
        let result = text.withUTF8 { bytes in Result { () throws(Failure) in try parse(bytes) } }
        return try result.get()
    }

    private mutating func value() throws(Failure) -> JSON {
        guard index < bytes.count else { throw .syntax(offset: index) }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func object() throws(Failure) -> JSON {
        try descend()
        index += 1
        var members: [(key: String, value: JSON)] = []
        var seen: Set<String>?
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            index += 1
            depth -= 1
            return .object(members)
        }
        // Room for a request's envelope or its params at once: grown from
        // empty, the array was reallocated at one, two and four members.
        members.reserveCapacity(4)
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else { throw .syntax(offset: index) }
            let key = try string()
            // A repeated member is ambiguous: parsers disagree on which wins.
            // (Swift's `==` also takes a canonically equivalent spelling for
            // a repeat: refused too, never read as the other.)
            if members.count < Self.scanLimit {
                guard !members.contains(where: { $0.key == key }) else { throw .syntax(offset: index) }
            } else {
                if seen == nil { seen = Set(members.map(\.key)) }
                guard seen!.insert(key).inserted else { throw .syntax(offset: index) }
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            members.append((key, try value()))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
            } else {
                try expect(UInt8(ascii: "}"))
                depth -= 1
                return .object(members)
            }
        }
    }

    private mutating func array() throws(Failure) -> JSON {
        try descend()
        index += 1
        var elements: [JSON] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value())
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
            } else {
                try expect(UInt8(ascii: "]"))
                depth -= 1
                return .array(elements)
            }
        }
    }

    private mutating func descend() throws(Failure) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw .tooDeep }
    }

    private mutating func string() throws(Failure) -> String {
        index += 1
        let start = index
        // Fast path: no escapes, the bytes are the string.
        var bits: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                // ASCII is valid UTF-8 as it is. `String(validating:as:)` is
                // generic and looked up type metadata on every call: 5% of a
                // pipelined verification's time (docs/PERFORMANCE.md).
                if bits < 0x80 { return String(decoding: slice, as: UTF8.self) }
                guard let text = String(validating: slice, as: UTF8.self) else { throw .invalidUTF8 }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw .syntax(offset: index) }
            bits |= byte
            index += 1
        }
        var scalars: [UInt8] = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: scalars, as: UTF8.self) else { throw .invalidUTF8 }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw .syntax(offset: index) }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append(0x22)
                case UInt8(ascii: "\\"): scalars.append(0x5C)
                case UInt8(ascii: "/"): scalars.append(0x2F)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard peek(UInt8(ascii: "\\")), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                            throw .loneSurrogate
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw .loneSurrogate }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw .loneSurrogate
                    }
                    scalars += Array(String(Character(Unicode.Scalar(code)!)).utf8)
                default:
                    throw .syntax(offset: index - 1)
                }
            default:
                if byte < 0x20 { throw .syntax(offset: index) }
                scalars.append(byte)
                index += 1
            }
        }
        throw .syntax(offset: index)
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw .syntax(offset: index) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw .syntax(offset: index)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, kept as text.
    private mutating func number() throws(Failure) -> String {
        let start = index
        if peek(UInt8(ascii: "-")) { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw .syntax(offset: index) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: ".")) {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw .syntax(offset: index) }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw .syntax(offset: index) }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        // Numbers longer than any sensible value are refused, not stored.
        guard index - start <= Self.maximumNumberLength else { throw .numberTooLong }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw .syntax(offset: index) }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw .syntax(offset: index + offset)
        }
        index += count
    }

    private func peek(_ byte: UInt8) -> Bool {
        index < bytes.count && bytes[index] == byte
    }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        guard peek(byte) else { throw .syntax(offset: index) }
        index += 1
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

/// Finds keys of one format in arbitrary text (source files, logs, a
/// paste): every `<prefix>_<environment>_` followed by exactly the key's
/// length of base62 characters whose checksum holds, standing alone (no
/// letter, digit or `_` right before or after). Look-alikes, a key with a
/// typo, one cut short or run into other characters, are not keys: the
/// checksum and the boundaries leave no false positives to speak of
/// (a random 38-character tail passes the CRC-32 once in four billion).
///
/// ```swift
/// let scanner = KeyScanner(format: KeyFormat(prefix: "kg", environments: ["live", "test"]))
/// scanner.keys(in: Array("token = kg_live_…".utf8))   // [KeyScanner.Found(line: 1, column: 9, key: …)]
/// ```
public struct KeyScanner: Sendable {
    public let format: KeyFormat
    /// `<prefix>_<environment>_` for each environment, as bytes.
    private let heads: [[UInt8]]
    private static let tailLength = KeyFormat.randomLength + KeyFormat.checksumLength

    public init(format: KeyFormat) {
        self.format = format
        heads = format.environments.map { Array("\(format.prefix)_\($0)_".utf8) }
    }

    /// A key found, where: line and column count from 1 (the column in bytes).
    public struct Found: Sendable, Hashable {
        public let line: Int
        public let column: Int
        public let key: RawKey
    }

    /// Every key in `bytes`, in order.
    public func keys(in bytes: [UInt8]) -> [Found] {
        var found: [Found] = []
        let first = Array(Set(heads.map { $0[0] }))
        var line = 1
        var lineStart = 0
        var index = 0
        bytes.withUnsafeBufferPointer { text in
            while index < text.count {
                let byte = text[index]
                if byte == 0x0A {
                    line += 1
                    lineStart = index + 1
                    index += 1
                    continue
                }
                guard first.contains(byte), index == 0 || !Self.isWordByte(text[index - 1]) else {
                    index += 1
                    continue
                }
                if let length = match(text, at: index) {
                    let candidate = String(decoding: text[index..<index + length], as: UTF8.self)
                    if (try? format.parse(candidate)) != nil {
                        found.append(Found(line: line, column: index - lineStart + 1, key: RawKey(candidate)))
                        index += length
                        continue
                    }
                }
                index += 1
            }
        }
        return found
    }

    /// The length of a well-shaped key starting at `start`, or `nil`.
    private func match(_ text: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        for head in heads where start + head.count + Self.tailLength <= text.count {
            guard text[start..<start + head.count].elementsEqual(head) else { continue }
            let tailEnd = start + head.count + Self.tailLength
            guard text[start + head.count..<tailEnd].allSatisfy(Base62.isDigit) else { continue }
            // Standing alone: nothing that could continue a key right after it.
            if tailEnd < text.count, Self.isWordByte(text[tailEnd]) { continue }
            return tailEnd - start
        }
        return nil
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        Base62.isDigit(byte) || byte == UInt8(ascii: "_")
    }
}

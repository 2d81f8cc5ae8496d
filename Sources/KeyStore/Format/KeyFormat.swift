/// The format of Keygate keys: `<prefix>_<environment>_<random><checksum>`.
///
/// - `prefix` brands the product's keys (`kg`), from the catalog;
/// - `environment` is one of the catalog's, such as `live` or `test`;
/// - `random` is ``randomLength`` base62 characters from a CSPRNG
///   (about 190 bits);
/// - `checksum` is the CRC-32 of everything before it, in ``checksumLength``
///   base62 digits.
///
/// ```swift
/// let format = KeyFormat(prefix: "kg", environments: ["live", "test"])
/// let key = format.generate(environment: "live")   // kg_live_3kTq…
/// try format.parse(key.unredacted).environment      // "live"
/// ```
///
/// A product that issued keys before Keygate keeps them working through
/// ``legacy`` formats: keys with another prefix and no checksum, recognised
/// by shape alone and stored, like every key, as the SHA-256 of the whole key.
public struct KeyFormat: Sendable, Hashable {
    /// 32 base62 characters: 32 × log2(62) ≈ 190.5 bits, above the 160 the
    /// design asks for.
    public static let randomLength = 32
    /// 62^6 > 2^32, so six digits hold any CRC-32.
    public static let checksumLength = 6
    /// No key of this format is longer; anything longer than this and
    /// every legacy format's longest is refused before it is scanned.
    static let maximumLength = 64

    public let prefix: String
    public let environments: [String]
    /// Formats of keys issued before Keygate, still accepted.
    public let legacy: [LegacyKeyFormat]
    /// The same as bytes, so parsing compares without building strings.
    private let prefixBytes: [UInt8]
    private let environmentBytes: [[UInt8]]
    private let longest: Int

    public init(prefix: String, environments: [String], legacy: [LegacyKeyFormat] = []) {
        self.prefix = prefix
        self.environments = environments
        self.legacy = legacy
        prefixBytes = Array(prefix.utf8)
        environmentBytes = environments.map { Array($0.utf8) }
        longest = legacy.map { $0.prefix.utf8.count + LegacyKeyFormat.bodyLength.upperBound }.max() ?? Self.maximumLength
    }

    public static func == (lhs: KeyFormat, rhs: KeyFormat) -> Bool {
        lhs.prefix == rhs.prefix && lhs.environments == rhs.environments && lhs.legacy == rhs.legacy
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(prefix)
        hasher.combine(environments)
        hasher.combine(legacy)
    }

    /// A new key from a CSPRNG (see ``SecureRandom``).
    public func generate(environment: String) -> RawKey {
        var generator = SecureRandom()
        return generate(environment: environment, using: &generator)
    }

    /// A new key from `generator`; only tests pass anything but `SecureRandom`.
    func generate(environment: String, using generator: inout some RandomNumberGenerator) -> RawKey {
        precondition(environments.contains(environment), "unknown environment \(environment)")
        var bytes = Array("\(prefix)_\(environment)_".utf8)
        bytes += Base62.random(count: Self.randomLength, using: &generator)
        bytes += Base62.encode(UInt64(CRC32.checksum(bytes)), width: Self.checksumLength)
        return RawKey(String(decoding: bytes, as: UTF8.self))
    }

    /// Checks a key's shape and checksum, without touching any storage.
    public func parse(_ key: some StringProtocol) throws(KeyFormatError) -> ParsedKey {
        var key = String(key)
        let result = key.withUTF8 { bytes in
            Result { () throws(KeyFormatError) in try parse(bytes) }
        }
        return try result.get()
    }

    private func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(KeyFormatError) -> ParsedKey {
        let environment: Int
        do {
            environment = try check(bytes)
        } catch {
            guard let legacy = legacyFormat(of: bytes) else { throw error }
            return ParsedKey(environment: legacy.environment, digest: KeyDigest(of: bytes), key: Array(bytes),
                             visiblePrefix: legacy.prefix.utf8.count)
        }
        return ParsedKey(environment: environments[environment], digest: KeyDigest(of: bytes), key: Array(bytes))
    }

    /// The digest of a well-formed key, or `nil`: the verification path,
    /// which needs nothing else and allocates nothing.
    public func digest(ofWellFormed key: String) -> KeyDigest? {
        var key = key
        return key.withUTF8 { bytes in
            if (try? check(bytes)) != nil || legacyFormat(of: bytes) != nil { return KeyDigest(of: bytes) }
            return nil
        }
    }

    /// A value to echo in an error message: if it is a key of this format
    /// (or a legacy one), only its hint, so a key pasted into the wrong
    /// field never comes back in an error or a log; otherwise without
    /// invisible characters (a message is shown: a bidi override turns a
    /// dashboard's line around, a NUL cuts it in C clients), or as its code
    /// points when nothing visible is left (`U+FEFF`), and cut to 64
    /// characters, so a megabyte of input never comes back whole.
    public func redacted(_ value: String) -> String {
        if value.utf8.count <= longest, let parsed = try? parse(value) {
            return parsed.hint
        }
        if value.utf8.count <= Self.echoedCharacters, value.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) {
            return value  // The usual mistake: a short name, printable ASCII.
        }
        // Read only as far as the cut: a visible character is at most a few
        // scalars, so this many leaves room for a cut at 64 characters.
        let room = Self.echoedCharacters * 16
        let visible = value.unicodeScalars.lazy.filter { !KeyValidator.isInvisible($0) }
        let text = String(String.UnicodeScalarView(visible.prefix(room)))
        if text.isEmpty, !value.isEmpty {
            // Nothing visible: its code points, so the message still names it.
            let shown = value.unicodeScalars.prefix(8).map(KeyValidator.codePoint).joined(separator: " ")
            return value.unicodeScalars.dropFirst(8).isEmpty ? shown : shown + " …"
        }
        let cut = text.prefix(Self.echoedCharacters)
        return cut.endIndex == text.endIndex && visible.dropFirst(room).isEmpty ? text : String(cut) + "…"
    }

    /// How many characters of a value ``redacted(_:)`` echoes.
    static let echoedCharacters = 64

    /// The legacy format `bytes` has the shape of, if any.
    private func legacyFormat(of bytes: UnsafeBufferPointer<UInt8>) -> LegacyKeyFormat? {
        guard !legacy.isEmpty, bytes.count <= longest else { return nil }
        return legacy.first { $0.matches(bytes) }
    }

    /// Checks shape and checksum; returns the index of the key's environment.
    private func check(_ bytes: UnsafeBufferPointer<UInt8>) throws(KeyFormatError) -> Int {
        guard bytes.count <= Self.maximumLength else { throw .wrongLength }
        guard bytes.count > prefixBytes.count, bytes.starts(with: prefixBytes), bytes[prefixBytes.count] == UInt8(ascii: "_")
        else { throw .wrongPrefix }
        let afterPrefix = prefixBytes.count + 1
        guard let separator = bytes[afterPrefix...].firstIndex(of: UInt8(ascii: "_")),
            let environment = environmentBytes.firstIndex(where: { bytes[afterPrefix..<separator].elementsEqual($0) })
        else { throw .unknownEnvironment }
        let secretStart = separator + 1
        guard bytes.count - secretStart == Self.randomLength + Self.checksumLength else { throw .wrongLength }
        // The tables are read once here, not once per character: each access
        // to a global checks its lazy initialisation.
        let values = Base62.values
        for index in secretStart..<bytes.count where values[Int(bytes[index])] == 0xFF { throw .invalidCharacter }
        let checksumStart = bytes.count - Self.checksumLength
        var checksum = UInt64(CRC32.checksum(UnsafeBufferPointer(rebasing: bytes[..<checksumStart])))
        let alphabet = Base62.alphabet
        for index in stride(from: bytes.count - 1, through: checksumStart, by: -1) {
            guard bytes[index] == alphabet[Int(checksum % 62)] else { throw .checksumMismatch }
            checksum /= 62
        }
        return environment
    }

    /// What lists show of a key: everything up to the secret, then its last
    /// four characters, which are checksum digits and give away no random bits.
    /// Anything else (a legacy key, text that only looks like a key) shows
    /// its last four characters only: its head could be part of its secret.
    static func hint(of key: [UInt8]) -> String {
        guard let separator = key.lastIndex(of: UInt8(ascii: "_")), separator <= 2 * 16 + 1,
            key.count - separator - 1 == randomLength + checksumLength
        else { return key.count > 8 ? "…" + String(decoding: key.suffix(4), as: UTF8.self) : "…" }
        return String(decoding: key[...separator], as: UTF8.self) + "…"
            + String(decoding: key.suffix(4), as: UTF8.self)
    }
}

/// A key whose shape and checksum are right; whether it exists is for the store to say.
public struct ParsedKey: Sendable, Hashable {
    public let environment: String
    public let digest: KeyDigest
    private let key: [UInt8]
    /// For a legacy key, how much of it its hint shows before the last four
    /// characters: its prefix (a legacy key may have `_` anywhere).
    private let visiblePrefix: Int?

    init(environment: String, digest: KeyDigest, key: [UInt8], visiblePrefix: Int? = nil) {
        self.environment = environment
        self.digest = digest
        self.key = key
        self.visiblePrefix = visiblePrefix
    }

    /// Whether the key is of one of the format's legacy formats.
    public var isLegacy: Bool { visiblePrefix != nil }

    /// What lists show of the key; built on demand, since verification never needs it.
    public var hint: String {
        guard let visiblePrefix else { return KeyFormat.hint(of: key) }
        return String(decoding: key.prefix(visiblePrefix), as: UTF8.self) + "…"
            + String(decoding: key.suffix(4), as: UTF8.self)
    }
}

/// Keys a product issued before Keygate: `<prefix><body>`, the body
/// ``bodyLength`` characters of `A–Z a–z 0–9 _ -`, with no checksum, stored
/// (as every key) as the SHA-256 of the whole key. They verify like any
/// other key once imported; a string of their shape that was never imported
/// is simply not found.
public struct LegacyKeyFormat: Sendable, Hashable {
    /// What every such key starts with, separators included (`qv_pk_`).
    public let prefix: String
    /// The environment such keys are recorded in.
    public let environment: String
    /// How long the part after the prefix may be: long enough to be a
    /// secret, short enough to refuse junk early.
    public static let bodyLength = 16...128

    private let prefixBytes: [UInt8]

    public init(prefix: String, environment: String) {
        self.prefix = prefix
        self.environment = environment
        prefixBytes = Array(prefix.utf8)
    }

    public static func == (lhs: LegacyKeyFormat, rhs: LegacyKeyFormat) -> Bool {
        lhs.prefix == rhs.prefix && lhs.environment == rhs.environment
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(prefix)
        hasher.combine(environment)
    }

    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard Self.bodyLength.contains(bytes.count - prefixBytes.count), bytes.starts(with: prefixBytes) else { return false }
        return bytes[prefixBytes.count...].allSatisfy { byte in
            Base62.isDigit(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}

/// Why a string is not a well-formed key. Every case is answered as
/// `malformed`; the case says which check failed, for tests and debugging.
public enum KeyFormatError: Error, Sendable, Hashable {
    case wrongPrefix
    case unknownEnvironment
    case wrongLength
    case invalidCharacter
    case checksumMismatch
}

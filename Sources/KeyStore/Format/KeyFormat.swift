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
public struct KeyFormat: Sendable, Hashable {
    /// 32 base62 characters: 32 × log2(62) ≈ 190.5 bits, above the 160 the
    /// design asks for.
    public static let randomLength = 32
    /// 62^6 > 2^32, so six digits hold any CRC-32.
    public static let checksumLength = 6
    /// No key is longer; anything longer is refused before it is scanned.
    static let maximumLength = 64

    public let prefix: String
    public let environments: [String]
    /// The same as bytes, so parsing compares without building strings.
    private let prefixBytes: [UInt8]
    private let environmentBytes: [[UInt8]]

    public init(prefix: String, environments: [String]) {
        self.prefix = prefix
        self.environments = environments
        prefixBytes = Array(prefix.utf8)
        environmentBytes = environments.map { Array($0.utf8) }
    }

    public static func == (lhs: KeyFormat, rhs: KeyFormat) -> Bool {
        lhs.prefix == rhs.prefix && lhs.environments == rhs.environments
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(prefix)
        hasher.combine(environments)
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
        let environment = try check(bytes)
        return ParsedKey(environment: environments[environment], digest: KeyDigest(of: bytes), key: Array(bytes))
    }

    /// The digest of a well-formed key, or `nil`: the verification path,
    /// which needs nothing else and allocates nothing.
    public func digest(ofWellFormed key: String) -> KeyDigest? {
        var key = key
        return key.withUTF8 { bytes in
            (try? check(bytes)).map { _ in KeyDigest(of: bytes) }
        }
    }

    /// A value to echo in an error message: cut to 64 characters, and if
    /// it is a key of this format, only its hint, so a key pasted into the
    /// wrong field never comes back in an error or a log.
    public func redacted(_ value: String) -> String {
        if value.utf8.count <= Self.maximumLength, digest(ofWellFormed: value) != nil {
            return Self.hint(of: Array(value.utf8))
        }
        return value.count <= 64 ? value : String(value.prefix(64)) + "…"
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
    static func hint(of key: [UInt8]) -> String {
        guard let separator = key.lastIndex(of: UInt8(ascii: "_")), key.count - separator > 4 else { return "…" }
        return String(decoding: key[...separator], as: UTF8.self) + "…"
            + String(decoding: key.suffix(4), as: UTF8.self)
    }
}

/// A key whose shape and checksum are right; whether it exists is for the store to say.
public struct ParsedKey: Sendable, Hashable {
    public let environment: String
    public let digest: KeyDigest
    private let key: [UInt8]

    init(environment: String, digest: KeyDigest, key: [UInt8]) {
        self.environment = environment
        self.digest = digest
        self.key = key
    }

    /// What lists show of the key; built on demand, since verification never needs it.
    public var hint: String { KeyFormat.hint(of: key) }
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

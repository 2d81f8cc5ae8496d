import CLibPQ
import Foundation

extension PostgresKeyStorage {
    /// Whether a `--database` value names a PostgreSQL server rather than a
    /// SQLite file.
    public static func isURL(_ database: String) -> Bool {
        database.hasPrefix("postgresql://") || database.hasPrefix("postgres://")
    }

    /// The URL that says what a libpq keyword/value connection string says
    /// (`host=db dbname=keygate`, as `psql` and `pg_service.conf` take it),
    /// each setting a query parameter, or `nil` if libpq cannot read it.
    ///
    /// ```swift
    /// PostgresKeyStorage.url(fromKeywords: "host=db dbname=keygate")
    /// // "postgresql://?dbname=keygate&host=db"
    /// ```
    ///
    /// libpq reads a URL's query parameters as these very settings, so the
    /// store connects as the string would have; being a URL, it takes the
    /// store's own parameters (``conninfo(for:)``) and ``redacted(_:)``
    /// hides its password, where the string would have been logged whole.
    /// The settings come in libpq's order, not the string's; one given
    /// twice counts once, as libpq counts it: the last.
    public static func url(fromKeywords connectionString: String) -> String? {
        var error: UnsafeMutablePointer<CChar>?
        // libpq reads a URL too; only keyword/value strings are wanted here.
        guard !isURL(connectionString), let options = PQconninfoParse(connectionString, &error) else {
            // Its words are not passed on: they quote the string, password and all.
            if let error { PQfreemem(error) }
            return nil
        }
        defer { PQconninfoFree(options) }
        var parameters: [String] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                parameters.append(String(cString: keyword) + "=" + percentEncoded(value))
            }
            option += 1
        }
        return "postgresql://?" + parameters.joined(separator: "&")
    }

    /// `value`'s bytes as a URL's query holds them: RFC 3986's unreserved
    /// characters as they are, every other byte as `%XX`, which libpq
    /// decodes. Bytes, not characters: a password need not be UTF-8.
    private static func percentEncoded(_ value: UnsafePointer<CChar>) -> String {
        var text = ""
        for byte in UnsafeBufferPointer(start: value, count: strlen(value)).lazy.map(UInt8.init(bitPattern:)) {
            if unreserved.contains(byte) {
                text.append(Character(Unicode.Scalar(byte)))
            } else {
                text += ["%", hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]]
            }
        }
        return text
    }

    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
    private static let hexDigits = Array("0123456789ABCDEF")

    /// What the store connects with: `url`, with `keygate` as the
    /// application name the server shows (`pg_stat_activity`, its logs'
    /// `%a`) unless the URL or `PGAPPNAME` names another, as psql names
    /// itself: a DBA looking at a busy server sees whose connections
    /// these are.
    ///
    /// Keygate's text is UTF-8: a `client_encoding` from the environment
    /// (`PGCLIENTENCODING=LATIN1`) or the URL made the server convert each
    /// of its bytes as a character of its own, and store `Łódź` as `ÅÃ³dÅº`
    /// for every other reader. The last `client_encoding` given wins.
    ///
    /// And ``networkTimeouts``, before the URL's own parameters, which
    /// win over them. A keyword/value string is first made the URL that
    /// says the same (``url(fromKeywords:)``): parameters appended to it
    /// as to a URL would have become part of its last value.
    static func conninfo(for url: String) -> String {
        let url = self.url(fromKeywords: url) ?? url
        let defaults = networkTimeouts(environment: ProcessInfo.processInfo.environment)
        let withDefaults: String
        if let query = url.firstIndex(of: "?") {
            withDefaults = url[...query] + defaults + "&" + url[url.index(after: query)...]
        } else {
            withDefaults = url + "?" + defaults
        }
        return withDefaults + "&fallback_application_name=keygate&client_encoding=UTF8"
    }

    /// How long a connection waits for a server that went silent (a
    /// network partition, a host gone in a failover: nothing answers and
    /// nothing is refused), where libpq's defaults wait for ever to
    /// connect, about 15 minutes for an answer (the kernel's retries), and
    /// never notice an idle connection is dead: 5 s to connect
    /// (`PGCONNECT_TIMEOUT` instead where set), 5 s for data the server
    /// does not acknowledge, and a probe of an idle connection (the
    /// listening one) after 10 s. They apply over TCP, not a Unix socket.
    static func networkTimeouts(environment: [String: String]) -> String {
        let connect = environment["PGCONNECT_TIMEOUT", default: ""].isEmpty ? ["connect_timeout=5"] : []
        return (connect + ["tcp_user_timeout=5000", "keepalives=1", "keepalives_idle=10", "keepalives_interval=5",
                           "keepalives_count=3"]).joined(separator: "&")
    }

    /// Why a database whose encoding is `encoding` cannot hold Keygate's
    /// text, if it cannot: a name in any script, with emoji, is one the
    /// server could not convert to LATIN1 and the like. `SQL_ASCII` keeps
    /// the bytes as they came.
    static func encodingRefusal(_ encoding: String?) -> String? {
        guard let encoding, encoding != "UTF8", encoding != "SQL_ASCII" else { return nil }
        return "the database's encoding is \(encoding), which cannot hold text in every script as Keygate keeps it; "
            + "use a database created with ENCODING 'UTF8'"
    }

    /// A connection URL fit for a log: the password, in the user part or as
    /// a `password=` parameter, replaced by `***`. A keyword/value string
    /// is shown as its URL (``url(fromKeywords:)``), so redacted.
    public static func redacted(_ url: String) -> String {
        var text = self.url(fromKeywords: url) ?? url
        if let scheme = text.range(of: "://") {
            let rest = text[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"),
                let colon = rest[..<at].firstIndex(of: ":") {
                text.replaceSubrange(rest.index(after: colon)..<at, with: "***")
            }
        }
        if let query = text.firstIndex(of: "?") {
            let parameters = text[text.index(after: query)...].split(separator: "&", omittingEmptySubsequences: false).map { part in
                part.lowercased().hasPrefix("password=") ? "password=***" : String(part)
            }
            text = String(text[...query]) + parameters.joined(separator: "&")
        }
        return text
    }
}

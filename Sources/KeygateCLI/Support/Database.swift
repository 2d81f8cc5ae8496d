import ArgumentParser
import Foundation
import KeyStore
import KeyStorePostgres
import KeygateService

/// The store a `--database` value names, for `serve` and `scan`: a SQLite
/// file, or a PostgreSQL server.
enum Database {
    /// The database a command works on: its `--database` option, else
    /// `KEYGATE_DATABASE`, else `keygate.sqlite` in the working folder. A
    /// libpq keyword/value string comes back as the URL that says the same
    /// (``PostgresKeyStorage/url(fromKeywords:)``): from here on, what the
    /// command opens, logs and redacts is a URL.
    static func named(_ option: String?) -> String {
        let database = option ?? ProcessInfo.processInfo.environment["KEYGATE_DATABASE"] ?? "keygate.sqlite"
        guard looksLikeKeywords(database) else { return database }
        return PostgresKeyStorage.url(fromKeywords: database) ?? database
    }

    /// Whether `database` begins as a libpq keyword/value string does, a
    /// lower-case keyword and `=` (`host=db`, ` dbname = keygate`): no
    /// path to a file is written so unless on purpose, and then it can be
    /// written with its folder (`./dbname=keygate.sqlite`).
    private static func looksLikeKeywords(_ database: String) -> Bool {
        let words = database.drop(while: { $0 == " " || $0 == "\t" })
        let keyword = words.prefix { $0.isASCII && ($0.isLowercase || $0 == "_") }
        return !keyword.isEmpty && words.dropFirst(keyword.count).drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("=")
    }

    /// Why `database` (as ``named(_:)`` gave it) is neither a SQLite
    /// file's path nor a PostgreSQL URL Keygate can use, if it is evidently
    /// meant as something else: a libpq keyword/value string libpq cannot
    /// read, or a URL of another scheme (`mysql://`, `sqlite://`,
    /// `POSTGRESQL://`, which libpq does not read). Either was opened as a
    /// SQLite file of that name, or failed later in words about a missing
    /// folder: `serve` created the file, served from it while the operator
    /// believed every host shared PostgreSQL, and logged the password the
    /// value held. The words never quote the value.
    static func refusal(of database: String) -> String? {
        let scheme = database.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) }
        if scheme.first?.isLetter == true, database.dropFirst(scheme.count).hasPrefix("://"),
           !PostgresKeyStorage.isURL(database)
        {
            let name = scheme.prefix(32).lowercased()
            if name == "postgresql" || name == "postgres" {
                return "the database URL's scheme must be written in lower case, postgresql://, the only spelling "
                    + "PostgreSQL's client library reads"
            }
            if name == "sqlite" || name == "file" {
                return "the database is a \(name):// URL; give the SQLite file's path itself (keygate.sqlite, "
                    + "/var/lib/keygate/keygate.sqlite)"
            }
            return "the database is a \(name):// URL; keygate works on a SQLite file's path, a postgresql:// URL "
                + "or a keyword/value string (host=… dbname=…)"
        }
        if looksLikeKeywords(database) {
            return "the database looks like a PostgreSQL keyword/value string (host=… dbname=…) that PostgreSQL's "
                + "client library cannot read: a keyword it does not know, one without '=', or a quote left open. "
                + "A SQLite file whose name begins so is named with its folder: ./NAME"
        }
        return nil
    }

    /// Whether `database` names a SQLite file that is not there: the
    /// commands that read what `serve` wrote (`scan`, `status`) refuse it
    /// rather than create an empty database. A path that can name no file
    /// (empty, a folder, a device) is not missing: opening it says why.
    static func isMissingFile(_ database: String) -> Bool {
        !PostgresKeyStorage.isURL(database) && KeyDatabase.refusal(of: database) == nil
            && !FileManager.default.fileExists(atPath: database)
    }

    /// Why `database` is not one `serve` wrote, if it is not: no SQLite
    /// file there, or a database without Keygate's schema (the product's
    /// own, named by mistake). A command that only reads what `serve`
    /// wrote (`scan`) refuses it: opening it would create Keygate's tables
    /// there and find every key unknown. `nil` also when it cannot be
    /// read; opening it then says why.
    static func notKeygates(_ database: String) -> String? {
        if isMissingFile(database) { return "there is no database at \(database)" }
        // Only the schema matters here: no remembered call is counted.
        let status = try? PostgresKeyStorage.isURL(database)
            ? PostgresKeyStorage.status(url: database, within: 0, now: Date(), countingUpTo: 0)
            : SQLiteKeyStorage.status(path: database, within: 0, now: Date(), countingUpTo: 0)
        guard status?.schema == .empty else { return nil }
        return "\(displayName(database)) holds no Keygate database"
    }

    /// What logs and messages may show of a `--database` value: a
    /// PostgreSQL URL's password replaced.
    static func displayName(_ database: String) -> String {
        PostgresKeyStorage.isURL(database) ? PostgresKeyStorage.redacted(database) : database
    }

    /// A warning when the `--database` option itself (`option`, not the
    /// environment) holds a password: a process's arguments are readable by
    /// every user of the host (`ps`), its environment only by its own user.
    static func passwordWarning(option: String?) -> String? {
        guard let option else { return nil }
        let database = named(option)
        guard PostgresKeyStorage.isURL(database), displayName(database) != database else { return nil }
        return "the --database option holds a password, which every user of this host can read in the process list; "
            + "give the whole value in KEYGATE_DATABASE, or the password in PGPASSWORD or a password file (~/.pgpass, PGPASSFILE)"
    }

    /// The PostgreSQL options of `keygate serve`, resolved from its words.
    struct PostgresOptions {
        let freshness: PostgresKeyStorage.Freshness
        let rateLimitOutage: PostgresKeyStorage.RateLimitOutage
        let poolMode: PostgresKeyStorage.PoolMode
        let answerTimeouts: PostgresKeyStorage.AnswerTimeouts
        let unreachableGrace: Duration

        /// The longest `--answer-timeout`: the other round trips' limit, which
        /// verification's reads never need to pass.
        static let longestAnswerTimeout = PostgresKeyStorage.AnswerTimeouts().other

        /// The longest `--unreachable-grace`: a day.
        static let longestUnreachableGrace = 86_400

        /// `freshness`, `rateLimitOutage`, `poolMode`, `answerTimeout` and
        /// `unreachableGrace` are the options' words (nil: the default).
        /// Behind a pooler in transaction mode the default freshness is `polled`.
        init(freshness: String?, rateLimitOutage: String?, poolMode: String?, answerTimeout: String? = nil,
             unreachableGrace: String? = nil) throws {
            guard let pooling = PostgresKeyStorage.PoolMode(rawValue: poolMode ?? "session") else {
                throw ValidationError(PoolModeOption.refusal(poolMode ?? ""))
            }
            switch freshness ?? (pooling == .transaction ? "polled" : "notified") {
            case "strict": self.freshness = .strict
            case "notified" where pooling == .transaction:
                throw ValidationError(
                    "--freshness notified needs LISTEN, which a pooler in transaction mode cannot pass: use polled or strict")
            case "notified": self.freshness = .notified(poll: 1)
            case "polled": self.freshness = .polled(every: 1)
            case let word: throw ValidationError("--freshness must be notified, polled or strict, not '\(word)'")
            }
            guard let outage = PostgresKeyStorage.RateLimitOutage(rawValue: rateLimitOutage ?? "local") else {
                throw ValidationError("--rate-limit-outage must be local or refuse, not '\(rateLimitOutage ?? "")'")
            }
            self.rateLimitOutage = outage
            self.poolMode = pooling
            var timeouts = PostgresKeyStorage.AnswerTimeouts()
            if let answerTimeout {
                let longest = Self.longestAnswerTimeout.components.seconds
                // Whole milliseconds: what a round trip's deadline counts in.
                guard let seconds = Double(answerTimeout), seconds >= 0.01, seconds <= Double(longest) else {
                    throw ValidationError(
                        "--answer-timeout must be a number of seconds from 0.01 to \(longest), not '\(answerTimeout)'")
                }
                timeouts.verification = .milliseconds(Int64((seconds * 1_000).rounded()))
            }
            answerTimeouts = timeouts
            if let unreachableGrace {
                guard let seconds = Int(unreachableGrace), (0...Self.longestUnreachableGrace).contains(seconds) else {
                    throw ValidationError("--unreachable-grace must be a whole number of seconds from 0 to "
                        + "\(Self.longestUnreachableGrace), not '\(unreachableGrace)'")
                }
                self.unreachableGrace = .seconds(seconds)
            } else {
                self.unreachableGrace = PostgresKeyStorage.unreachableGrace
            }
        }

        /// What a process records of them for `keygate status`, in the options' words.
        var information: [String: String] {
            let freshness = switch self.freshness {
            case .strict: "strict"
            case .notified: "notified"
            case .polled: "polled"
            }
            typealias Name = KeygateService.SettingName
            return [Name.freshness: freshness, Name.rateLimitOutage: rateLimitOutage.rawValue,
                    Name.poolMode: poolMode.rawValue]
        }
    }

    /// Opens the store. `freshness`, `rateLimitOutage` and `poolMode` are
    /// the options' words (``PostgresOptions``); they matter only on PostgreSQL.
    static func open(_ database: String, rules: KeyRules, freshness: String?, rateLimitOutage: String?,
                     poolMode: String?) throws -> any KeygateStorage
    {
        guard PostgresKeyStorage.isURL(database) else { return try SQLiteKeyStorage(path: database, rules: rules) }
        return try open(database, rules: rules, postgres: PostgresOptions(
            freshness: freshness, rateLimitOutage: rateLimitOutage, poolMode: poolMode))
    }

    /// Opens the store; `postgres` is used only on PostgreSQL, where `nil`
    /// is every option's default.
    static func open(_ database: String, rules: KeyRules, postgres: PostgresOptions?) throws -> any KeygateStorage {
        guard PostgresKeyStorage.isURL(database) else { return try SQLiteKeyStorage(path: database, rules: rules) }
        let options = try postgres ?? PostgresOptions(freshness: nil, rateLimitOutage: nil, poolMode: nil)
        return try PostgresKeyStorage(url: database, rules: rules, freshness: options.freshness,
                                      rateLimitOutage: options.rateLimitOutage, poolMode: options.poolMode,
                                      answerTimeouts: options.answerTimeouts, unreachableGrace: options.unreachableGrace)
    }
}

/// Why the server could not start, in words an operator can act on.
enum StartupFailure {
    /// Whether libpq's words for a failed connection say the server was
    /// reached and refused the login: what to mend is then the user or its
    /// password, not the network. libpq's own words ("no password
    /// supplied") are English; the server's follow its `lc_messages`, and
    /// in another language the failure is described as unreachable.
    static func loginRefused(_ detail: String) -> Bool {
        ["no password supplied", "password authentication failed", "authentication failed for user",
         "no pg_hba.conf entry"].contains { detail.contains($0) }
            || (detail.contains("role \"") && detail.contains("does not exist"))
    }

    static func describe(_ error: any Error, database: String) -> String {
        guard let storage = error as? KeyStoreError, storage.code == .storageFailure else { return "\(error)" }
        let detail = storage.parameters["detail"] ?? ""
        switch storage.parameters["reason"] {
        case "unreachable" where loginRefused(detail):
            return "the PostgreSQL server at \(database) refused keygate's login (\(detail)); check the user and its "
                + "password, given in the URL, PGPASSWORD or a password file (~/.pgpass, PGPASSFILE)"
        case "unreachable" where detail.contains("database \"") && detail.contains("does not exist"):
            return "the PostgreSQL server at \(database) has no such database (\(detail)); create it (createdb) or name another"
        case "unreachable":
            return "cannot reach the PostgreSQL server at \(database) (\(detail))"
        case "corrupt":
            return "\(database) is damaged or not a Keygate database (\(detail)); restore it from a backup"
        case "io" where !PostgresKeyStorage.isURL(database) && KeyDatabase.refusal(of: database) != nil:
            return database.isEmpty ? detail : "\(database): \(detail)"
        case "io":
            // SQLite says only "unable to open database file", whether the
            // folder is missing, may not be written or no file descriptor
            // is left; the first is told apart here, the others are named.
            if !PostgresKeyStorage.isURL(database) {
                if let folder = KeyDatabase.missingFolder(of: database) {
                    return "\(database) cannot be created: its folder \(folder) does not exist"
                }
                if !FileManager.default.fileExists(atPath: database), let (folder, reason) = KeyDatabase.unwritableFolder(of: database) {
                    return "\(database) cannot be created: its folder \(folder) cannot be written (\(reason))"
                }
                if let (file, reason) = KeyDatabase.unreadableFile(of: database) {
                    return "\(file) cannot be read by this user (\(reason)); a database's files go together: give this "
                        + "user access to each, or run keygate as the user they belong to"
                }
            }
            return "\(database) cannot be opened or created (\(detail)); "
                + "check the path, its folder's permissions and the limit on open files (ulimit -n)"
        case "read_only":
            return "\(database) is read-only; keygate needs to write to it"
        case "full":
            return "the disk holding \(database) is full"
        case "busy":
            return "\(database) stayed locked by another process for longer than \(KeyDatabase.busyTimeout) s"
        default:
            return "\(database): \(detail)"
        }
    }
}

/// Web origins as browsers send them in the `Origin` header. Keys store
/// their allowed origins in this form and verification compares a request's
/// origin in it, so matching is a string comparison.
public enum WebOrigin {
    public struct Invalid: Error, Sendable {
        /// A stable word for the message: `format`, `path`, `credentials`,
        /// `scheme`, `host`, `port`.
        public let reason: String
    }

    /// `scheme://host[:port]`, lower-cased, without the scheme's default port,
    /// an IP address in the one form a browser writes it (the WHATWG URL
    /// standard's host serializer): exactly what a browser sends.
    public static func normalize(_ text: String) throws(Invalid) -> String {
        guard text.utf8.count <= 2048, let schemeEnd = text.range(of: "://") else { throw Invalid(reason: "format") }
        // Checked before lowercasing: `lowercased()` makes U+212A KELVIN SIGN a `k`.
        let given = text[..<schemeEnd.lowerBound]
        guard given.unicodeScalars.allSatisfy(\.isASCII) else { throw Invalid(reason: "scheme") }
        let scheme = given.lowercased()
        guard let first = scheme.unicodeScalars.first, ("a"..."z").contains(first),
            scheme.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || "+.-".unicodeScalars.contains($0) })
        else { throw Invalid(reason: "scheme") }
        let authority = text[schemeEnd.upperBound...]
        if authority.contains(where: { "/?#".contains($0) }) { throw Invalid(reason: "path") }
        if authority.contains("@") { throw Invalid(reason: "credentials") }

        var host = Substring(authority)
        var port: Int?
        let hostText: String
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw Invalid(reason: "host") }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Invalid(reason: "host") }
                port = try parsePort(after.dropFirst())
            }
            // A browser sends an address in one spelling only: `[0:0::1]`
            // stored as typed would never match the `[::1]` it sends.
            guard let address = IPv6Address(host[host.index(after: host.startIndex)..<close]) else {
                throw Invalid(reason: "host")
            }
            hostText = "[\(address)]"
        } else {
            if let colon = host.lastIndex(of: ":") {
                port = try parsePort(host[host.index(after: colon)...])
                host = host[..<colon]
            }
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            guard !host.isEmpty, host.count <= 253,
                labels.allSatisfy({ label in
                    !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                        && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
                })
            else { throw Invalid(reason: "host") }
            // A name whose last label is a number is an IPv4 address to a
            // browser, which sends it in dotted decimal (`http://127.1` as
            // `http://127.0.0.1`), or refuses it when it is no address.
            if let last = labels.last, IPv4Address.isNumber(last) {
                guard let address = IPv4Address(labels) else { throw Invalid(reason: "host") }
                hostText = "\(address)"
            } else {
                hostText = host.lowercased()
            }
        }
        let defaultPort = ["http": 80, "https": 443][scheme]
        let portText = port.flatMap { $0 == defaultPort ? nil : ":\($0)" } ?? ""
        return "\(scheme)://\(hostText)\(portText)"
    }

    /// A key's allowed origins as an earlier Keygate stored them, in the
    /// form this one stores and compares: kept in order, one entry where two
    /// spellings were one origin. Before IP addresses were written as
    /// browsers write them, `http://[0:0::1]` or `http://127.1` were kept as
    /// typed and matched no browser's `Origin`. An entry this Keygate would
    /// refuse (`http://256.1.1.1`) stays as it was: it matches nothing
    /// either way, and dropping a key's only entry would leave its list
    /// empty, which allows every origin.
    package static func renormalized(_ stored: [String]) -> [String] {
        var kept: [String] = []
        for origin in stored {
            let value = (try? normalize(origin)) ?? origin
            if !kept.contains(value) { kept.append(value) }
        }
        return kept
    }

    private static func parsePort(_ text: Substring) throws(Invalid) -> Int {
        // Digits only: `Int` also takes a sign, and `:+443` is no port a browser sends.
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ ("0"..."9").contains($0) }), let port = Int(text),
            (1...65535).contains(port)
        else {
            throw Invalid(reason: "port")
        }
        return port
    }
}

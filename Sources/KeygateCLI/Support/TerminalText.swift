import KeyStore

extension String {
    /// The text as a terminal may show it: each control character and
    /// invisible formatting written as an escape (`\n`, `\t`, `\u{1B}`,
    /// `\u{202E}`), and a backslash doubled (`\\`), as `ls -b` does. A file
    /// name in a scanned folder is anyone's text: shown as is, an escape
    /// sequence in it recolours or clears the terminal, a newline forges a
    /// line of output, a bidi override turns the line around. Escaped, it
    /// cannot, and it still names one file: with the backslash kept single,
    /// a name holding `\n` itself read as one holding a newline.
    var terminalSafe: String {
        guard unicodeScalars.contains(where: { $0 == "\\" || KeyValidator.isInvisible($0) }) else { return self }
        var text = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            let escape: String? = switch scalar {
            case "\n": "\\n"
            case "\t": "\\t"
            case "\r": "\\r"
            case "\\": "\\\\"
            case _ where KeyValidator.isInvisible(scalar): "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: nil
            }
            if let escape { text.append(contentsOf: escape.unicodeScalars) } else { text.append(scalar) }
        }
        return String(text)
    }
}

import Foundation
import KeygateJSON

/// The worst shapes a line under the 1 MiB limit can take, parsed by
/// Keygate's parser and, for the yardstick, by Foundation's. Each shape
/// should cost about what Foundation pays for the same bytes: parsing is
/// linear in the line, whatever it holds.
enum ParseShapes {
    static let limit = 1 << 20

    static func lines() -> [(name: String, bytes: [UInt8])] {
        func fill(_ open: String, _ item: (Int) -> String, _ close: String) -> [UInt8] {
            var text = open
            var index = 0
            while true {
                let next = (index == 0 ? "" : ",") + item(index)
                if text.utf8.count + next.utf8.count + close.utf8.count >= limit - 1 { break }
                text += next
                index += 1
            }
            return Array((text + close).utf8)
        }
        return [
            ("one long string", Array(("{\"s\":\"" + String(repeating: "a", count: limit - 16) + "\"}").utf8)),
            ("object, distinct members", fill("{", { "\"m\($0)\":\($0)" }, "}")),
            ("array of numbers", fill("[", { "\($0)" }, "]")),
            ("array of empty objects", fill("[", { _ in "{}" }, "]")),
            ("escapes in a string", Array(("{\"s\":\"" + String(repeating: "\\u00e9\\n", count: (limit - 16) / 8) + "\"}").utf8)),
            ("nesting 64 deep, repeated", fill("[", { _ in String(repeating: "[", count: 62) + String(repeating: "]", count: 62) }, "]")),
        ]
    }

    /// Rows: each shape's parse rate in MiB/s, and how it compares with Foundation on the same line.
    static func rows() throws -> [Row] {
        var rows: [Row] = []
        for (name, bytes) in lines() {
            var sink = 0
            let repeats = 20
            let ours = try Measure.rate(count: repeats, warmUp: 2) { _ in
                try bytes.withUnsafeBufferPointer { buffer in
                    if case .object(let members) = try JSONParser.parse(buffer) { sink &+= members.count } else { sink &+= 1 }
                }
            }
            let data = Data(bytes)
            let foundation = try Measure.rate(count: repeats, warmUp: 2) { _ in
                sink &+= (try JSONSerialization.jsonObject(with: data) as? [Any])?.count ?? 1
            }
            let mib = Double(bytes.count) / Double(1 << 20)
            let ratio = ours / foundation
            rows.append(Row(
                name: "parse a 1 MiB line: \(name)", value: String(format: "%.0f MiB/s (%.2f× Foundation)", ours * mib, ratio),
                target: "≥ 0.5× Foundation", met: ratio >= 0.5))
            if sink == 42 { print("") }
        }
        return rows
    }
}

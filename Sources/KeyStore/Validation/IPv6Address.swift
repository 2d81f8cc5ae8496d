/// An IPv6 address as the WHATWG URL standard reads and writes it in a
/// URL's host (`[…]`): eight 16-bit pieces, written back with the first
/// longest run of two or more zero pieces as `::`, in lower-case hex
/// without leading zeros, and an embedded IPv4 address in hex (`::ffff:1.2.3.4`
/// is written `::ffff:102:304`). That is how a browser's `Origin` header
/// spells it, whatever the page's URL said.
struct IPv6Address: CustomStringConvertible, Equatable {
    let pieces: [UInt16]

    /// Reads the text between the brackets; `nil` when it is not an
    /// address (the standard's "IPv6 parser" failing, zone ids included).
    init?(_ text: Substring) {
        let input = Array(text.utf8)
        var pieces = [UInt16](repeating: 0, count: 8)
        var pieceIndex = 0
        var compress: Int?
        var pointer = 0
        func at(_ index: Int) -> UInt8? { index < input.count ? input[index] : nil }

        if at(pointer) == UInt8(ascii: ":") {
            guard at(pointer + 1) == UInt8(ascii: ":") else { return nil }
            pointer += 2
            pieceIndex += 1
            compress = pieceIndex
        }
        while let character = at(pointer) {
            guard pieceIndex < 8 else { return nil }
            if character == UInt8(ascii: ":") {
                guard compress == nil else { return nil }
                pointer += 1
                pieceIndex += 1
                compress = pieceIndex
                continue
            }
            var value: UInt32 = 0
            var length = 0
            while length < 4, let digit = at(pointer).flatMap(Self.hexValue) {
                value = value * 16 + UInt32(digit)
                pointer += 1
                length += 1
            }
            if at(pointer) == UInt8(ascii: ".") {
                // The last 32 bits as an IPv4 address in dotted decimal.
                guard length > 0, pieceIndex <= 6 else { return nil }
                pointer -= length
                var numbersSeen = 0
                while at(pointer) != nil {
                    if numbersSeen > 0 {
                        guard at(pointer) == UInt8(ascii: "."), numbersSeen < 4 else { return nil }
                        pointer += 1
                    }
                    var part: UInt32?
                    while let character = at(pointer), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(character) {
                        let digit = UInt32(character - UInt8(ascii: "0"))
                        if part == 0 { return nil }  // a leading zero
                        let next = (part ?? 0) * 10 + digit
                        guard next <= 255 else { return nil }
                        part = next
                        pointer += 1
                    }
                    guard let part else { return nil }
                    pieces[pieceIndex] = pieces[pieceIndex] &* 0x100 &+ UInt16(part)
                    numbersSeen += 1
                    if numbersSeen == 2 || numbersSeen == 4 { pieceIndex += 1 }
                }
                guard numbersSeen == 4 else { return nil }
                break
            } else if at(pointer) == UInt8(ascii: ":") {
                pointer += 1
                guard at(pointer) != nil else { return nil }
            } else if at(pointer) != nil {
                return nil
            }
            pieces[pieceIndex] = UInt16(value)
            pieceIndex += 1
        }
        if let compress {
            var swaps = pieceIndex - compress
            pieceIndex = 7
            while pieceIndex != 0, swaps > 0 {
                pieces.swapAt(pieceIndex, compress + swaps - 1)
                pieceIndex -= 1
                swaps -= 1
            }
        } else if pieceIndex != 8 {
            return nil
        }
        self.pieces = pieces
    }

    var description: String {
        // The first of the longest runs of two or more zero pieces.
        var compress: Int?
        var longest = 1
        var index = 0
        while index < 8 {
            var end = index
            while end < 8, pieces[end] == 0 { end += 1 }
            if end - index > longest {
                longest = end - index
                compress = index
            }
            index = max(end, index + 1)
        }
        var output = ""
        var ignoreZero = false
        for (index, piece) in pieces.enumerated() {
            if ignoreZero, piece == 0 { continue }
            ignoreZero = false
            if index == compress {
                output += index == 0 ? "::" : ":"
                ignoreZero = true
                continue
            }
            output += String(piece, radix: 16)
            if index != 7 { output += ":" }
        }
        return output
    }

    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

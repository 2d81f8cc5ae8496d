/// CRC-32 (IEEE 802.3, as zlib computes it): the checksum at the end of every
/// key, so a mistyped or truncated key is refused without a database look-up
/// and a scanner can tell a real leaked key from random text.
enum CRC32 {
    /// Eight tables of 256 entries, for "slicing by 8": eight bytes per step
    /// instead of one, since every key is checked on every verification and
    /// the byte-at-a-time loop is one long chain of dependent loads.
    /// Table 0 is the classic one; table k advances table k−1 by one byte.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var value = UInt32(index)
            for _ in 0..<8 {
                value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1
            }
            tables[index] = value
        }
        for table in 1..<8 {
            for index in 0..<256 {
                let previous = tables[(table - 1) * 256 + index]
                tables[table * 256 + index] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        tables.withUnsafeBufferPointer { tables in
            @inline(__always) func entry(_ table: Int, _ byte: UInt32) -> UInt32 {
                tables[table &* 256 &+ Int(byte & 0xFF)]
            }
            let raw = UnsafeRawBufferPointer(bytes)
            var offset = 0
            while raw.count - offset >= 8 {
                let low = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) ^ crc
                let high = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                crc = entry(7, low) ^ entry(6, low >> 8) ^ entry(5, low >> 16) ^ entry(4, low >> 24)
                    ^ entry(3, high) ^ entry(2, high >> 8) ^ entry(1, high >> 16) ^ entry(0, high >> 24)
                offset += 8
            }
            while offset < raw.count {
                crc = entry(0, crc ^ UInt32(raw[offset])) ^ (crc >> 8)
                offset += 1
            }
        }
        return crc ^ 0xFFFF_FFFF
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { checksum($0) }
    }
}

/// Percent-encoding (RFC 3986) of UTF-8 text, without Foundation.
///
/// Foundation's `removingPercentEncoding` and `addingPercentEncoding` go through
/// CoreFoundation's strings on Linux, whose first use in a process looks up protocol
/// conformances at run time: about 0.4 ms of every process that opens a PostgreSQL store
/// (BENCHMARKS.md, round fifty).
package enum PercentCoding {
    /// `text` with each `%XX` replaced by the byte it names; `nil` when a `%` is not followed by
    /// two hexadecimal digits or the bytes are not UTF-8 (as Foundation's `removingPercentEncoding`).
    package static func decoded(_ text: some StringProtocol) -> String? {
        let (bytes, broken) = decode(text.utf8)
        return broken ? nil : String(validating: bytes, as: UTF8.self)
    }

    /// `bytes` with each `%XX` replaced by the byte it names; a `%` not followed by two
    /// hexadecimal digits is kept as it is.
    package static func decodedBytes(_ bytes: some Collection<UInt8>) -> [UInt8] {
        decode(bytes).bytes
    }

    /// The decoded bytes, and whether a `%` was not followed by two hexadecimal digits (kept).
    private static func decode(_ bytes: some Collection<UInt8>) -> (bytes: [UInt8], broken: Bool) {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var broken = false
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            bytes.formIndex(after: &index)
            if byte == UInt8(ascii: "%"), index != bytes.endIndex, let high = hexValue(bytes[index]) {
                let low = bytes.index(after: index)
                if low != bytes.endIndex, let value = hexValue(bytes[low]) {
                    output.append(high << 4 | value)
                    index = bytes.index(after: low)
                    continue
                }
            }
            broken = broken || byte == UInt8(ascii: "%")
            output.append(byte)
        }
        return (output, broken)
    }

    /// `text` with every byte of its UTF-8 other than ASCII letters, digits and `-._~` (RFC
    /// 3986's unreserved characters) written as `%XX`.
    package static func encoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                output.append(byte)
            } else {
                output.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

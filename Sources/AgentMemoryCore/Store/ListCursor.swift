import Foundation

/// The opaque cursor of a listing: the last key of the previous page, base64url-encoded with
/// a version tag, so callers cannot depend on its shape and a corrupted cursor is detected.
package enum ListCursor {
    private static let tag = "k1:"

    package static func encode(afterKey key: String) -> String {
        // Base64url by hand: Foundation's `base64EncodedString()` looked a conformance up by
        // scanning every conformance record of the binary at its first call (450,000
        // instructions of a `list` process; BENCHMARKS.md, round forty-seven), and swapping
        // its alphabet with `replacingOccurrences` went through `NSString` (round forty-six).
        let bytes = Array((tag + key).utf8)
        var encoded: [UInt8] = []
        encoded.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            var group = UInt32(bytes[index]) << 16
            if count > 1 { group |= UInt32(bytes[index + 1]) << 8 }
            if count > 2 { group |= UInt32(bytes[index + 2]) }
            // Two characters for one byte, three for two, four for three; no padding.
            for shift in [18, 12, 6, 0].prefix(count + 1) {
                encoded.append(alphabet[Int((group >> UInt32(shift)) & 0x3F)])
            }
            index += 3
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// base64url's alphabet.
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The bytes of `text` in base64url (or base64), with or without padding; `nil` for any other text
    /// (a character outside the alphabet, padding that is not at the end or longer than the
    /// length needs, a length no encoding has).
    private static func decodedBytes(_ text: String) -> [UInt8]? {
        var values: [UInt32] = []
        values.reserveCapacity(text.utf8.count)
        var padding = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            // base64's own "+" and "/" are read as "-" and "_", as they always were.
            let value = byte == UInt8(ascii: "+") ? 62 : byte == UInt8(ascii: "/") ? 63 : alphabet.firstIndex(of: byte)
            guard padding == 0, let value else { return nil }
            values.append(UInt32(value))
        }
        // Padding is optional, and may be partial (at most what the length needs).
        guard values.count % 4 != 1, padding <= (4 - values.count % 4) % 4 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index < values.count {
            let count = min(4, values.count - index)
            var group: UInt32 = 0
            for offset in 0..<4 { group = group << 6 | (offset < count ? values[index + offset] : 0) }
            for shift in [16, 8, 0].prefix(count - 1) { bytes.append(UInt8((group >> UInt32(shift)) & 0xFF)) }
            index += 4
        }
        return bytes
    }

    /// The key after which the next page starts; throws a clear error for a cursor that was
    /// not made by ``encode(afterKey:)``.
    package static func decode(_ cursor: String) throws -> String {
        // The tag is compared and removed as bytes: a key that starts with a combining mark
        // would join the tag's ":" into one Character (RELIABILITY.md, defect 2).
        guard let bytes = decodedBytes(cursor), bytes.starts(with: tag.utf8),
              let key = String(validating: bytes.dropFirst(tag.utf8.count), as: UTF8.self)
        else {
            throw MemoryError(.invalidArgument, "Invalid cursor \"\(cursor.truncatedForMessage)\": pass the cursor returned by the previous page unchanged")
        }
        return key
    }

    /// Throws unless `limit` is at least 1.
    package static func validate(limit: Int) throws {
        if limit < 1 {
            throw MemoryError(.invalidArgument, "limit must be at least 1, got \(limit)")
        }
    }
}

extension String {
    /// Whether `self` starts with `prefix`, comparing UTF-8 bytes (no Unicode equivalence).
    package func hasBytePrefix(_ prefix: String) -> Bool {
        var mine = utf8.makeIterator()
        for byte in prefix.utf8 {
            guard mine.next() == byte else { return false }
        }
        return true
    }

    /// Whether `self` and `other` have the same UTF-8 bytes (unlike `==`, which treats
    /// canonically equivalent strings as equal).
    package func bytesEqual(_ other: String) -> Bool {
        // The lengths first (a native string knows its own), then one `memcmp` of the bytes
        // where both are stored contiguously: `elementsEqual` on the views stepped an iterator
        // byte by byte, 4.5% of the executor's time over a bare dictionary (BENCHMARKS.md,
        // round eighteen).
        guard utf8.count == other.utf8.count else { return false }
        if let order = Self.byteOrder(self, other) { return order == 0 }
        return utf8.elementsEqual(other.utf8)
    }

    /// Byte-order comparison of UTF-8 encodings.
    package func bytesPrecede(_ other: String) -> Bool {
        if let order = Self.byteOrder(self, other) { return order < 0 }
        return utf8.lexicographicallyPrecedes(other.utf8)
    }

    /// `memcmp`'s order of the two strings' UTF-8 bytes (a shorter prefix first); `nil` when
    /// either is not stored as contiguous UTF-8.
    private static func byteOrder(_ lhs: String, _ rhs: String) -> Int? {
        lhs.utf8.withContiguousStorageIfAvailable { left in
            rhs.utf8.withContiguousStorageIfAvailable { right -> Int in
                let shared = Swift.min(left.count, right.count)
                if shared > 0, let a = left.baseAddress, let b = right.baseAddress {
                    let order = memcmp(a, b, shared)
                    if order != 0 { return order < 0 ? -1 : 1 }
                }
                return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
            }
        } ?? nil
    }
}

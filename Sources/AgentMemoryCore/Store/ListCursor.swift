import Foundation

/// The opaque cursor of a listing: the last key of the previous page, base64url-encoded with
/// a version tag, so callers cannot depend on its shape and a corrupted cursor is detected.
package enum ListCursor {
    private static let tag = "k1:"

    package static func encode(afterKey key: String) -> String {
        // The alphabet swapped byte by byte: Foundation's `replacingOccurrences` went through
        // `NSString` (440,000 instructions for one cursor).
        let base64 = Data((tag + key).utf8).base64EncodedString()
        return String(decoding: base64.utf8.compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "+"): UInt8(ascii: "-")
            case UInt8(ascii: "/"): UInt8(ascii: "_")
            case UInt8(ascii: "="): nil
            default: byte
            }
        }, as: UTF8.self)
    }

    /// The key after which the next page starts; throws a clear error for a cursor that was
    /// not made by ``encode(afterKey:)``.
    package static func decode(_ cursor: String) throws -> String {
        var base64 = String(decoding: cursor.utf8.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "-"): UInt8(ascii: "+")
            case UInt8(ascii: "_"): UInt8(ascii: "/")
            default: byte
            }
        }, as: UTF8.self)
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        // The tag is compared and removed as bytes: a key that starts with a combining mark
        // would join the tag's ":" into one Character (RELIABILITY.md, defect 2).
        guard let data = Data(base64Encoded: base64),
              let text = String(data: data, encoding: .utf8), text.hasBytePrefix(tag)
        else {
            throw MemoryError(.invalidArgument, "Invalid cursor \"\(cursor.truncatedForMessage)\": pass the cursor returned by the previous page unchanged")
        }
        return String(decoding: data.dropFirst(tag.utf8.count), as: UTF8.self)
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

import Foundation

/// A request target (`/path?query`) read from the raw bytes the client sent, not from a
/// router's decoding: memory keys may contain `/`, `+`, `%`, `:`, `~` and `;`, and the BotWire
/// client leaves most of them unescaped.
///
/// Decoding rules: `%XX` (two hex digits) is the byte XX, so percent-encoded UTF-8 becomes its
/// characters; a `%` not followed by two hex digits is a literal `%`; `+` in the path stays `+`
/// (in the query it is a space, as HTML forms and Python's `urlencode` write it).
struct RequestTarget: Sendable {
    /// The path's segments, split on `/` before decoding (a decoded `%2F` stays inside its segment).
    let rawSegments: [Substring]
    /// The query's parameters, decoded, first occurrence of each name (a parameter that is not
    /// UTF-8 once decoded is left out).
    let query: [String: String]

    /// Splits and decodes `target` (as in the request line: `/memory/ns/key?limit=3`).
    ///
    /// Splits on the bytes `?`, `/`, `&` and `=`, never on Characters: a separator followed
    /// by a combining mark is one Character to Swift (`/` + U+0301), and splitting on
    /// Characters would miss it and read `/memory/ns/<U+0301>key` as the list route
    /// (defect 5 in RELIABILITY.md, found by the HTTP fuzz target).
    init(_ target: String) {
        let bytes = target[...].utf8
        let path: Substring.UTF8View, queryText: Substring.UTF8View?
        if let mark = bytes.firstIndex(of: UInt8(ascii: "?")) {
            path = bytes[..<mark]
            queryText = bytes[bytes.index(after: mark)...]
        } else {
            path = bytes
            queryText = nil
        }
        var segments = Self.split(path, on: "/")
        if segments.first == "" { segments.removeFirst() }
        rawSegments = segments
        var query: [String: String] = [:]
        for pair in queryText.map({ Self.split($0, on: "&") }) ?? [] where !pair.isEmpty {
            let parts = Self.split(pair.utf8, on: "=", maxSplits: 1)
            guard let name = Self.decode(parts[0], plusIsSpace: true),
                  let value = parts.count > 1 ? Self.decode(parts[1], plusIsSpace: true) : ""
            else { continue }
            if query[name] == nil { query[name] = value }
        }
        self.query = query
    }

    /// `text` split on the ASCII byte `separator`; every piece starts and ends on a scalar
    /// boundary because an ASCII byte never occurs inside a multi-byte UTF-8 sequence.
    private static func split(
        _ text: Substring.UTF8View, on separator: Unicode.Scalar, maxSplits: Int = .max
    ) -> [Substring] {
        text.split(separator: UInt8(ascii: separator), maxSplits: maxSplits, omittingEmptySubsequences: false)
            .map { Substring($0) }
    }

    /// The decoded segment at `index`, or `nil` past the end (or when it is not UTF-8).
    func segment(_ index: Int) -> String? {
        index < rawSegments.count ? Self.decode(rawSegments[index], plusIsSpace: false) : nil
    }

    /// Everything from segment `index` on (but the last `dropped`), joined by `/` and decoded:
    /// a key with slashes; `nil` when it is not UTF-8.
    func remainder(from index: Int, droppingLast dropped: Int = 0) -> String? {
        let end = rawSegments.count - dropped
        guard index < end else { return "" }
        return Self.decode(rawSegments[index..<end].joined(separator: "/")[...], plusIsSpace: false)
    }

    /// Percent-decodes `text`; `nil` when the decoded bytes are not UTF-8 (never repaired:
    /// a key is not silently altered).
    static func decode(_ text: Substring, plusIsSpace: Bool) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(text)
        }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hexValue(bytes[index + 1]),
               let low = hexValue(bytes[index + 2]) {
                output.append(high << 4 | low)
                index += 3
            } else if plusIsSpace && byte == UInt8(ascii: "+") {
                output.append(UInt8(ascii: " "))
                index += 1
            } else {
                output.append(byte)
                index += 1
            }
        }
        // `String(validating:as:)`, not Foundation's `String(bytes:encoding:)`, which drops a
        // leading byte order mark (U+FEFF): a key starting with one would be another key
        // (RELIABILITY.md, defect 7).
        return String(validating: output, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

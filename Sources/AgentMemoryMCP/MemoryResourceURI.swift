import AgentMemoryCore

/// The URI of one memory as an MCP resource: `memory://NAMESPACE/KEY`.
///
/// The namespace and the key are percent-encoded byte for byte (UTF-8), leaving only RFC 3986
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`) as they are, so a key holding `/`, `%`, spaces
/// or non-ASCII text round-trips exactly; this is what the template `memory://{namespace}/{key}`
/// gives under RFC 6570 simple expansion. Decoding is strict: a `%` not followed by two hex
/// digits, or bytes that are not UTF-8, make the URI invalid.
public struct MemoryResourceURI: Sendable, Hashable, CustomStringConvertible {
    /// The URI scheme.
    public static let scheme = "memory"
    /// The resource template advertised by `resources/templates/list`.
    public static let template = "memory://{namespace}/{key}"

    /// The namespace part.
    public var namespace: Namespace
    /// The key part, decoded.
    public var key: String

    /// A URI for `key` in `namespace`.
    public init(namespace: Namespace, key: String) {
        self.namespace = namespace
        self.key = key
    }

    /// Parses `memory://NAMESPACE/KEY`; `nil` when the text is not such a URI.
    public init?(parsing text: String) {
        let start = "\(Self.scheme)://"
        guard text.hasPrefix(start) else { return nil }
        let rest = text.dropFirst(start.count)
        guard let slash = rest.firstIndex(of: "/"),
            let namespaceText = Self.decode(rest[..<slash]),
            let namespace = try? Namespace(namespaceText),
            let key = Self.decode(rest[rest.index(after: slash)...]), !key.isEmpty
        else { return nil }
        self.init(namespace: namespace, key: key)
    }

    /// The URI text.
    public var description: String {
        "\(Self.scheme)://\(Self.encode(namespace.name))/\(Self.encode(key))"
    }

    /// Percent-encodes every UTF-8 byte of `text` but the unreserved characters.
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// Percent-decodes `text` into UTF-8; `nil` for a malformed escape or invalid UTF-8.
    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF")

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
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

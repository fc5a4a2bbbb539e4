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
        PercentCoding.encoded(text)
    }

    /// Percent-decodes `text` into UTF-8; `nil` for a malformed escape or invalid UTF-8.
    static func decode(_ text: Substring) -> String? {
        PercentCoding.decoded(text)
    }
}

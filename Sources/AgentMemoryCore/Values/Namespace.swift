/// The name of an isolated set of memories, such as one agent's or one crew's.
///
/// Valid names match `^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`. A name is checked when the
/// namespace is made and never altered: an invalid name is an error, not a corrected name.
public struct Namespace: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The validated name.
    public let name: String

    /// The namespace used when none is given: `default`.
    public static let `default` = try! Namespace("default")

    /// Validates `name`; throws ``MemoryError/invalidNamespace`` saying what is wrong.
    public init(_ name: String) throws {
        if let problem = Namespace.problem(with: name) {
            throw MemoryError(.invalidNamespace, problem)
        }
        self.name = name
    }

    /// Why `name` is not a valid namespace, or `nil` when it is.
    public static func problem(with name: String) -> String? {
        let bytes = Array(name.utf8)
        let rule = "a namespace is 1 to 128 characters from A-Z a-z 0-9 _ . : - and starts with a letter or digit"
        guard !bytes.isEmpty else { return "Invalid namespace \"\": \(rule)" }
        guard bytes.count <= 128 else {
            return "Invalid namespace (\(bytes.count) characters): \(rule)"
        }
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        guard isAlphanumeric(bytes[0]) else {
            return "Invalid namespace \"\(name)\": \(rule)"
        }
        for byte in bytes.dropFirst() where !(isAlphanumeric(byte) || byte == 0x5F || byte == 0x2E || byte == 0x3A || byte == 0x2D) {
            return "Invalid namespace \"\(name)\": \(rule)"
        }
        return nil
    }

    /// The name.
    public var description: String { name }

    /// Orders namespaces by the bytes of their names.
    public static func < (lhs: Namespace, rhs: Namespace) -> Bool {
        lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }

    /// Decodes and validates a name.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        try self.init(try container.decode(String.self))
    }

    /// Encodes the name as a string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

/// A key that has passed the key rules: 1 to 512 UTF-8 bytes, no control characters.
///
/// Made once where a key enters (a tool input, a CLI argument, an HTTP path) and carried
/// inward, so stores never check a key again. Two keys are equal only when their UTF-8 bytes
/// are (Swift's `String ==` treats NFC and NFD spellings as equal; memory keys do not), and
/// they order by bytes, as the stores list them.
public struct MemoryKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The key as written.
    public let rawValue: String

    /// The longest key, in UTF-8 bytes.
    public static let maxBytes = 512

    /// Checks `rawValue` against the key rules; throws ``MemoryError/Code/invalidKey`` with a
    /// message that names the rule broken.
    public init(_ rawValue: String) throws {
        let count = rawValue.utf8.count
        if count == 0 {
            throw MemoryError(.invalidKey, "Invalid key: a key must not be empty (1 to \(Self.maxBytes) UTF-8 bytes)")
        }
        if count > Self.maxBytes {
            throw MemoryError(.invalidKey, "Invalid key: the key is \(count) UTF-8 bytes, the limit is \(Self.maxBytes)")
        }
        if let scalar = Self.firstControlCharacter(in: rawValue) {
            throw MemoryError(.invalidKey, "Invalid key: keys must not contain control characters (found \(Self.codePoint(scalar)))")
        }
        self.rawValue = rawValue
    }

    /// A key the caller has already checked against the rules (a store reading back what it
    /// holds, or a front end that words its own messages).
    package init(checked rawValue: String) {
        self.rawValue = rawValue
    }

    /// `scalar` as error messages write it: `U+` and at least four hex digits (`U+0007`).
    package static func codePoint(_ scalar: Unicode.Scalar) -> String {
        "U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
    }

    /// The first control character of `text`, if any (the rule every key follows).
    package static func firstControlCharacter(in text: String) -> Unicode.Scalar? {
        // ASCII fast path: most keys are ASCII, and only bytes below 0x20 and 0x7F are
        // control characters there. Over the string's contiguous bytes when it has them (a
        // native string always does): stepping `String.UTF8View` cost about 80 instructions a
        // byte, 1.4% of an `exec` of 2,000 recalls (BENCHMARKS.md, round twenty-seven).
        func scan(_ bytes: some Sequence<UInt8>) -> (control: UInt8?, ascii: Bool) {
            var high: UInt8 = 0
            for byte in bytes {
                if byte < 0x20 || byte == 0x7F { return (byte, true) }
                high |= byte
            }
            return (nil, high < 0x80)
        }
        let (control, ascii) = text.utf8.withContiguousStorageIfAvailable(scan) ?? scan(text.utf8)
        if let control { return Unicode.Scalar(control) }
        if ascii { return nil }
        return text.unicodeScalars.first { $0.properties.generalCategory == .control }
    }

    /// The key's UTF-8 length.
    public var byteCount: Int { rawValue.utf8.count }

    /// The key as written.
    public var description: String { rawValue }

    /// Whether the two keys have the same bytes.
    public static func == (lhs: MemoryKey, rhs: MemoryKey) -> Bool {
        lhs.rawValue.bytesEqual(rhs.rawValue)
    }

    /// Hashes the key's bytes.
    public func hash(into hasher: inout Hasher) {
        var bytes = rawValue
        bytes.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Byte order, as the stores list keys.
    public static func < (lhs: MemoryKey, rhs: MemoryKey) -> Bool {
        lhs.rawValue.bytesPrecede(rhs.rawValue)
    }
}

extension MemoryKey: ExpressibleByStringLiteral {
    /// A key written in code. An invalid literal is a programming error and stops the program
    /// with the key rule's message; keys from input go through ``init(_:)``.
    public init(stringLiteral value: String) {
        do {
            try self.init(value)
        } catch {
            preconditionFailure("\(error)")
        }
    }
}

import AgentMemoryCore

/// A path of Claude's memory tool, checked and normalized: `/memories` itself or
/// `/memories/<name>/<name>...` with no empty, `.` or `..` segment left.
///
/// Checking is strict because a path becomes a store key that other tools, front ends and
/// agents read: a path that climbs above `/memories` (`/memories/../x`, `/memories/a/../../x`),
/// hides a climb behind percent-encoding (`%2e%2e`, also double-encoded) or backslashes, holds
/// control characters (NUL), or is longer than a key may be, is refused with a message for the
/// model. A `..` that stays inside is resolved: `/memories/a/../b.txt` is `/memories/b.txt`.
struct MemoryPath: Hashable, Sendable {
    /// The root every path lives under.
    static let rootPath = "/memories"
    /// The longest normalized path, in UTF-8 bytes: a directory's marker key (the path and
    /// `/`) must still fit the store's 512-byte key limit.
    static let maxBytes = 511
    /// The longest path accepted as sent, before `..` is resolved.
    static let maxRawBytes = 4096

    /// The segments below `/memories`, in order (empty for the root).
    let components: [String]

    /// The root, `/memories`.
    static let root = MemoryPath(components: [])

    private init(components: [String]) {
        self.components = components
    }

    /// Whether this is `/memories` itself.
    var isRoot: Bool { components.isEmpty }

    /// The normalized path, such as `/memories/notes/todo.txt`: also the key of a file.
    var string: String {
        components.isEmpty ? MemoryPath.rootPath : MemoryPath.rootPath + "/" + components.joined(separator: "/")
    }

    /// The key of a file at this path.
    var fileKey: String { string }

    /// The key of this directory's marker, and the prefix of every key inside it:
    /// the path and a trailing `/`, such as `/memories/notes/`.
    var directoryKey: String { string + "/" }

    /// The last segment (empty for the root).
    var name: String { components.last ?? "" }

    /// The directories that contain this path, outermost first, without the root.
    var ancestors: [MemoryPath] {
        components.isEmpty ? [] : (1..<components.count).map { MemoryPath(components: Array(components.prefix($0))) }
    }

    /// Whether `self` is `other` or lies inside it.
    func isSameOrInside(_ other: MemoryPath) -> Bool {
        components.count >= other.components.count && Array(components.prefix(other.components.count)) == other.components
    }

    /// Checks and normalizes a path as the model sent it; throws a ``MemoryToolFailure`` whose
    /// message quotes the path.
    static func parse(_ raw: String) throws(MemoryToolFailure) -> MemoryPath {
        let rawBytes = raw.utf8.count
        if rawBytes > maxRawBytes {
            throw tooLong(raw, bytes: rawBytes)
        }
        if let scalar = raw.unicodeScalars.first(where: isControl) {
            throw MemoryToolFailure(
                "Path \(visible(raw)) contains a control character (\(MemoryKey.codePoint(scalar))); memory paths must be printable text")
        }
        guard raw.hasBytePrefix(rootPath) else {
            throw MemoryToolFailure("Path must start with /memories, got: \(raw)")
        }
        let escape = MemoryToolFailure("Path \(raw) would escape /memories directory")
        let rest = Array(raw.utf8.dropFirst(rootPath.utf8.count))
        // `/memoriesX` is a sibling of the root, not inside it; a backslash is a Windows
        // separator that a later consumer might honour.
        if let first = rest.first, first != slash { throw escape }
        if rest.contains(backslash) { throw escape }

        var components: [String] = []
        for segment in rest.split(separator: slash, omittingEmptySubsequences: true) {
            let bytes = Array(segment)
            if bytes == [dot] { continue }
            if bytes == [dot, dot] {
                if components.isEmpty { throw escape }
                components.removeLast()
                continue
            }
            if hidesTraversal(bytes) { throw escape }
            components.append(String(decoding: bytes, as: UTF8.self))
        }
        let path = MemoryPath(components: components)
        let bytes = path.string.utf8.count
        if bytes > maxBytes { throw tooLong(raw, bytes: bytes) }
        return path
    }

    // MARK: - Checks

    private static let slash = UInt8(ascii: "/")
    private static let backslash = UInt8(ascii: "\\")
    private static let dot = UInt8(ascii: ".")
    private static let percent = UInt8(ascii: "%")

    /// Whether a segment, once percent-decoded (repeatedly, for double encoding), is `.` or
    /// `..` or holds a separator or a control character.
    private static func hidesTraversal(_ segment: [UInt8]) -> Bool {
        var current = segment
        for _ in 0..<4 {
            guard current.contains(percent) else { break }
            let decoded = percentDecoded(current)
            if decoded == current { break }
            current = decoded
            if current == [dot] || current == [dot, dot] { return true }
            if current.contains(where: { $0 == slash || $0 == backslash || $0 < 0x20 || $0 == 0x7F }) { return true }
        }
        return false
    }

    private static func percentDecoded(_ bytes: [UInt8]) -> [UInt8] {
        PercentCoding.decodedBytes(bytes)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control
    }

    /// The path with control characters written as `\u{...}`, so the message stays readable.
    private static func visible(_ raw: String) -> String {
        var text = ""
        for scalar in raw.unicodeScalars {
            if isControl(scalar) {
                text += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        return text.truncatedForMessage
    }

    private static func tooLong(_ raw: String, bytes: Int) -> MemoryToolFailure {
        MemoryToolFailure(
            "Path \(raw.truncatedForMessage) is too long: \(bytes) bytes, the limit is \(maxBytes) bytes; use shorter names")
    }
}

/// A command that failed in a way the model should hear about: its message is the whole
/// `is_error` tool result.
struct MemoryToolFailure: Error, Sendable {
    /// The result text.
    let message: String

    init(_ message: String) {
        self.message = message
    }
}

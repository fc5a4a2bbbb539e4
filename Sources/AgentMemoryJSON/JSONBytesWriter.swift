/// Compact JSON text written piece by piece into bytes, for output too large to build as a
/// ``JSONValue`` first (the results of a turn of thousands of tool calls): strings are quoted
/// and escaped exactly as ``JSONValue/jsonBytes(pretty:sortedKeys:capacity:)`` writes them.
public struct JSONBytesWriter: Sendable {
    private var writer: JSONWriter

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int) {
        writer = JSONWriter(pretty: false, sortedKeys: false, capacity: capacity)
    }

    /// Appends `text` as it is: punctuation and member names that the caller knows to be JSON.
    public mutating func raw(_ text: StaticString) {
        writer.bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `string` as a JSON string: quoted, with only the characters JSON requires
    /// escaped.
    public mutating func string(_ string: String) {
        writer.writeString(string)
    }

    /// Appends one byte (a newline after the text, say).
    public mutating func byte(_ byte: UInt8) {
        writer.bytes.append(byte)
    }

    /// The bytes written so far.
    public var bytes: [UInt8] { writer.bytes }
}

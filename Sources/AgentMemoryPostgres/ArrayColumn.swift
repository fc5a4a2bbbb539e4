import NIOCore
import PostgresNIO

/// One column of a statement's rows as a one-dimensional PostgreSQL array parameter, encoded in
/// PostgreSQL's binary array format as its elements are appended.
///
/// PostgresNIO's own `Array` encoding writes each element through its generic per-value path
/// (a length placeholder, the value, the length set afterwards, with the buffer's checks each
/// time): for the 16 arrays of an `exec` of 2,000 `remember` calls that was about 1.6 ms of the
/// client's time, on the path between the planning of the calls and the write statement's
/// departure (BENCHMARKS.md, round fifty). Here each element is its length and bytes, appended
/// to a byte array of the column's own (plain array appends: written into a `ByteBuffer` one by
/// one, with its checks, they still took 1.2 ms); the parameter is that array behind the
/// array's header, copied once. Elements are never `NULL` (nullable columns come with a flag
/// column; see ``StoredColumns``).
struct ArrayColumn<Element: ArrayColumnElement>: PostgresNonThrowingEncodable, Sendable {
    /// The number of elements.
    private(set) var count = 0
    /// Each element as PostgreSQL's binary array format holds it: its length, then its bytes.
    private var elements: [UInt8] = []

    init() {}

    /// A column of `values`, in order.
    init(_ values: some Sequence<Element>) {
        for value in values { append(value) }
    }

    mutating func append(_ value: Element) {
        value.writeArrayElement(into: &elements)
        count += 1
    }

    static var psqlType: PostgresDataType { Element.arrayType }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        // The header: dimensions (none for an empty array), no NULL elements, the element type,
        // then the one dimension's length and lower bound.
        buffer.writeInteger(count == 0 ? 0 : 1, as: Int32.self)
        buffer.writeInteger(0, as: Int32.self)
        buffer.writeInteger(Element.elementType.rawValue)
        guard count > 0 else { return }
        buffer.writeInteger(Int32(count))
        buffer.writeInteger(1, as: Int32.self)
        buffer.writeBytes(elements)
    }
}

/// A value an ``ArrayColumn`` holds: its PostgreSQL types and its binary encoding.
protocol ArrayColumnElement: Sendable {
    /// The element's type.
    static var elementType: PostgresDataType { get }
    /// The type of an array of it.
    static var arrayType: PostgresDataType { get }
    /// Appends the element's length (4 bytes) and its binary encoding.
    func writeArrayElement(into bytes: inout [UInt8])
}

extension [UInt8] {
    /// Appends the length (4 bytes) and the bytes of a fixed-width element, in network byte order.
    fileprivate mutating func appendElement<Value: FixedWidthInteger>(_ value: Value) {
        Swift.withUnsafeBytes(of: Int32(MemoryLayout<Value>.size).bigEndian) { append(contentsOf: $0) }
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}

extension String: ArrayColumnElement {
    static var elementType: PostgresDataType { .text }
    static var arrayType: PostgresDataType { .textArray }

    func writeArrayElement(into bytes: inout [UInt8]) {
        Swift.withUnsafeBytes(of: Int32(utf8.count).bigEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: utf8)
    }
}

extension Int64: ArrayColumnElement {
    static var elementType: PostgresDataType { .int8 }
    static var arrayType: PostgresDataType { .int8Array }
    func writeArrayElement(into bytes: inout [UInt8]) { bytes.appendElement(self) }
}

extension Double: ArrayColumnElement {
    static var elementType: PostgresDataType { .float8 }
    static var arrayType: PostgresDataType { .float8Array }
    func writeArrayElement(into bytes: inout [UInt8]) { bytes.appendElement(bitPattern) }
}

extension Bool: ArrayColumnElement {
    static var elementType: PostgresDataType { .bool }
    static var arrayType: PostgresDataType { .boolArray }
    func writeArrayElement(into bytes: inout [UInt8]) { bytes.appendElement(UInt8(self ? 1 : 0)) }
}

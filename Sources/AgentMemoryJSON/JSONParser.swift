/// Why JSON text could not be parsed, with the byte offset where it went wrong.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public let reason: String
    /// The zero-based byte offset in the input.
    public let offset: Int

    /// A sentence for people: the reason and the offset.
    public var description: String { "\(reason) at byte \(offset)" }
}

/// A strict RFC 8259 parser that keeps object key order and tells integers from doubles.
///
/// It is used instead of `JSONSerialization` so that values round-trip exactly (see
/// ``JSONValue``) and a whole message is decoded in one pass.
enum JSONParser {
    static let maximumDepth = 512

    /// Parses `input`; a long input on two threads (``SecondHalf``) unless `onOneThread`.
    static func parse(_ input: UnsafeBufferPointer<UInt8>, onOneThread: Bool = false) throws -> JSONValue {
        try parse(input, secondHalf: onOneThread ? nil : SecondHalf.start(input))
    }

    /// Parses `input`, with the elements `secondHalf`'s thread parsed if the cursor meets its
    /// comma between two elements of an array.
    static func parse(_ input: UnsafeBufferPointer<UInt8>, secondHalf: SecondHalf?) throws -> JSONValue {
        // The input must not go while the second half's thread reads it.
        defer { secondHalf?.finish() }
        var parser = Cursor(input: input)
        parser.secondHalf = secondHalf
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index != input.count {
            throw parser.error("Unexpected trailing content")
        }
        return value
    }

    struct Cursor {
        let input: UnsafeBufferPointer<UInt8>
        var index = 0
        /// The deepest object or array begun so far.
        var deepest = 0
        /// The second half of a long array, parsed by another thread (``SecondHalf``).
        var secondHalf: SecondHalf?

        init(input: UnsafeBufferPointer<UInt8>) { self.input = input }

        func error(_ reason: String) -> JSONParseError {
            JSONParseError(reason: reason, offset: index)
        }

        mutating func skipWhitespace() {
            while index < input.count {
                switch input[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws -> JSONValue {
            guard index < input.count else { throw error("Unexpected end of input") }
            switch input[index] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default:
                throw error("Unexpected character '\(Self.printable(input[index]))'")
            }
        }

        static func printable(_ byte: UInt8) -> String {
            (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\u{\(String(byte, radix: 16))}"
        }

        mutating func expectLiteral(_ literal: StaticString) throws {
            let count = literal.utf8CodeUnitCount
            guard index + count <= input.count else { throw error("Invalid literal") }
            let bytes = UnsafeBufferPointer(start: literal.utf8Start, count: count)
            for offset in 0..<count where input[index + offset] != bytes[offset] {
                throw error("Invalid literal")
            }
            index += count
        }

        mutating func parseObject(depth: Int) throws -> JSONValue {
            guard depth <= JSONParser.maximumDepth else { throw error("Nesting deeper than \(JSONParser.maximumDepth) levels") }
            if depth > deepest { deepest = depth }
            index += 1
            var object = JSONObject()
            skipWhitespace()
            if index < input.count, input[index] == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            // Room for a content block's or a tool input's members: growing from empty took
            // two or three reallocations an object (BENCHMARKS.md, round twenty-eight).
            object.reserveCapacity(4)
            while true {
                skipWhitespace()
                guard index < input.count, input[index] == UInt8(ascii: "\"") else {
                    throw error("Expected a string key")
                }
                let key = try parseString()
                skipWhitespace()
                guard index < input.count, input[index] == UInt8(ascii: ":") else { throw error("Expected ':'") }
                index += 1
                skipWhitespace()
                object[key] = try parseValue(depth: depth)
                skipWhitespace()
                guard index < input.count else { throw error("Unexpected end of input in object") }
                if input[index] == UInt8(ascii: ",") {
                    index += 1
                } else if input[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(object)
                } else {
                    throw error("Expected ',' or '}'")
                }
            }
        }

        mutating func parseArray(depth: Int) throws -> JSONValue {
            guard depth <= JSONParser.maximumDepth else { throw error("Nesting deeper than \(JSONParser.maximumDepth) levels") }
            if depth > deepest { deepest = depth }
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < input.count, input[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth))
                skipWhitespace()
                guard index < input.count else { throw error("Unexpected end of input in array") }
                if input[index] == UInt8(ascii: ",") {
                    if let secondHalf, index == secondHalf.comma, let rest = secondHalf.take(at: index, depth: depth) {
                        // The other thread parsed the rest of this array from this very comma.
                        elements.append(contentsOf: rest.elements)
                        index = rest.end
                        deepest = max(deepest, depth + rest.deepest)
                        return .array(elements)
                    }
                    index += 1
                } else if input[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                } else {
                    throw error("Expected ',' or ']'")
                }
            }
        }

        mutating func parseString() throws -> String {
            index += 1  // opening quote
            let start = index
            // Fast path: no escapes, up to the first quote, backslash or control byte.
            var bits: UInt8 = 0
            index = JSONStringScan.firstSpecial(in: input, from: index, seen: &bits)
            if index < input.count {
                let byte = input[index]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: input[start..<index])
                    index += 1
                    // ASCII needs no validation (and `String(validating:)` costs a generic
                    // metadata lookup per call: a few percent of parsing a large message).
                    if bits < 0x80 { return String(decoding: slice, as: UTF8.self) }
                    guard let string = String(validating: slice, as: UTF8.self) else {
                        throw JSONParseError(reason: "Invalid UTF-8 in string", offset: start)
                    }
                    return string
                }
                if byte < 0x20 { throw error("Unescaped control character in string") }
                // A backslash: the slow path from here.
            }
            // Slow path: decode escapes into a byte buffer.
            var bytes = Array(UnsafeBufferPointer(rebasing: input[start..<index]))
            while index < input.count {
                let byte = input[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    guard let string = String(validating: bytes, as: UTF8.self) else {
                        throw JSONParseError(reason: "Invalid UTF-8 in string", offset: start)
                    }
                    return string
                }
                if byte < 0x20 { throw error("Unescaped control character in string") }
                if byte != UInt8(ascii: "\\") {
                    bytes.append(byte)
                    index += 1
                    continue
                }
                index += 1
                guard index < input.count else { break }
                let escape = input[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): bytes.append(0x22)
                case UInt8(ascii: "\\"): bytes.append(0x5C)
                case UInt8(ascii: "/"): bytes.append(0x2F)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < input.count, input[index] == UInt8(ascii: "\\"), input[index + 1] == UInt8(ascii: "u") else {
                            throw error("Unpaired surrogate in string")
                        }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("Unpaired surrogate in string") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("Unpaired surrogate in string")
                    }
                    bytes.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
                default:
                    index -= 1
                    throw error("Invalid escape sequence")
                }
            }
            throw error("Unterminated string")
        }

        mutating func parseHex4() throws -> UInt32 {
            guard index + 4 <= input.count else { throw error("Invalid \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = input[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw error("Invalid \\u escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        mutating func parseNumber() throws -> JSONValue {
            let start = index
            var isInteger = true
            if input[index] == UInt8(ascii: "-") { index += 1 }
            guard index < input.count, isDigit(input[index]) else { throw error("Invalid number") }
            if input[index] == UInt8(ascii: "0") {
                index += 1
                if index < input.count, isDigit(input[index]) { throw error("Leading zero in number") }
            } else {
                while index < input.count, isDigit(input[index]) { index += 1 }
            }
            if index < input.count, input[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard index < input.count, isDigit(input[index]) else { throw error("Invalid number") }
                while index < input.count, isDigit(input[index]) { index += 1 }
            }
            if index < input.count, input[index] == UInt8(ascii: "e") || input[index] == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if index < input.count, input[index] == UInt8(ascii: "+") || input[index] == UInt8(ascii: "-") { index += 1 }
                guard index < input.count, isDigit(input[index]) else { throw error("Invalid number") }
                while index < input.count, isDigit(input[index]) { index += 1 }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: input[start..<index]), as: UTF8.self)
            if isInteger, let value = Int(text) { return .int(value) }
            guard let value = Double(text), value.isFinite else {
                throw JSONParseError(reason: "Number out of range", offset: start)
            }
            return .double(value)
        }

        @inline(__always) func isDigit(_ byte: UInt8) -> Bool {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        }
    }
}

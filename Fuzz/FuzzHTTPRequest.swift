// libFuzzer target: the HTTP server's request target and body parsing. scripts/reliability/fuzz.sh
// compiles the server's own Sources/AgentMemoryServer/RequestTarget.swift into this target (it
// is internal to the server module, whose Hummingbird and NIO dependencies the fuzz build does
// not compile). The input is a request target, a newline, then a request body.
//
// Properties:
// - any target splits into segments that rejoin to its path, and decodes without crashing;
// - a key decoded from the path is the join of its decoded segments (a `%2F` never moves a
//   segment boundary; a segment that is not UTF-8 makes the whole key invalid), for every
//   start segment when there are at most 16, else for the first six, the middle and the last
//   six (see `checkedStarts`);
// - any text, sent as a key under `/memory/NS/` with only `%` and `?` escaped (as BotWire's
//   client sends it) or with every byte escaped, decodes to the same bytes, in namespace NS,
//   also under `/append`; the namespace segment never depends on the key;
// - a namespace taken from a path passes the namespace rule only when it matches
//   `^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`, so it never holds `/`, `..` or `%`; a key taken
//   from a path is accepted only with 1 to 512 UTF-8 bytes and no control character;
// - the query decodes to the same parameters after being encoded again;
// - a body the PUT route accepts (a JSON object whose `value` is a string) gives a response
//   that parses back to the same key, value and byte count.
#if canImport(AgentMemoryJSON)
import AgentMemoryJSON
#endif
import AgentMemoryCore
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = bytes(data, size)
    let newline = input.firstIndex(of: UInt8(ascii: "\n")) ?? input.endIndex
    let targetText = String(decoding: input[..<newline], as: UTF8.self)
    let body = newline < input.endIndex ? Array(input[(newline + 1)...]) : []

    checkTarget(targetText)
    checkKeyRoundTrip(String(decoding: input, as: UTF8.self))
    checkBody(body, key: targetText)
    return 0
}

/// Properties of any request target.
func checkTarget(_ text: String) {
    let target = RequestTarget(text)
    // The path is everything before the first `?` byte (not Character: defect 5).
    let bytes = Array(text.utf8)
    var path = Array(bytes[..<(bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.endIndex)])
    if path.first == UInt8(ascii: "/") { path.removeFirst() }
    let rejoined = Array(target.rawSegments.joined(separator: "/").utf8)
    if rejoined != path {
        violated("segments \(target.rawSegments) do not rejoin to the path \(path)")
    }
    let decoded = target.rawSegments.indices.map { target.segment($0) }
    if target.segment(target.rawSegments.count) != nil { violated("a segment past the end") }
    for start in checkedStarts(segmentCount: target.rawSegments.count) {
        for dropped in 0...1 where start <= target.rawSegments.count - dropped {
            let remainder = target.remainder(from: start, droppingLast: dropped)
            let parts = decoded[start..<(target.rawSegments.count - dropped)]
            if parts.contains(where: { $0 == nil }) {
                if remainder != nil { violated("key \(remainder!) decoded although a segment of it is not UTF-8") }
            } else if let remainder, !remainder.bytesEqual(parts.map { $0! }.joined(separator: "/")) {
                violated("key \(Array(remainder.utf8)) is not its decoded segments \(parts) joined by /")
            } else if remainder == nil {
                violated("key not decoded although every segment is: \(parts)")
            }
        }
    }
    if let name = target.segment(1) {
        let valid = Namespace.problem(with: name) == nil
        if valid != matchesNamespaceRule(name) { violated("namespace rule disagrees on \(Array(name.utf8))") }
    }
    if let key = target.remainder(from: 2), let accepted = try? MemoryKey(key) {
        let count = accepted.rawValue.utf8.count
        if count == 0 || count > 512 || accepted.rawValue.unicodeScalars.contains(where: isControl) {
            violated("key \(Array(key.utf8)) accepted against the key rules")
        }
    }
    // The query, encoded again, decodes to the same parameters.
    let again = RequestTarget("/?" + target.query.map { escapeEveryByte($0.key) + "=" + escapeEveryByte($0.value) }.joined(separator: "&"))
    if again.query.count != target.query.count
        || target.query.contains(where: { name, value in again.query[name].map { !$0.bytesEqual(value) } ?? true }) {
        violated("query \(target.query) decoded as \(again.query) after encoding")
    }
}

/// The segment indices whose remainders `checkTarget` compares with the joined segments: all
/// of them up to 16 segments; past that the first six (the routes read a key from segment 2),
/// the middle one and the last six. Each remainder costs time linear in the path, so checking
/// every one is quadratic: a 4,000-byte target of 2,000 segments took 6 s and 16 million
/// mallocs under ASan (round 2's 20 s timeouts at low priority), and the property is the
/// same for every start.
func checkedStarts(segmentCount count: Int) -> [Int] {
    count <= 16 ? Array(0...count) : Array(0...5) + [count / 2] + Array((count - 5)...count)
}

/// Any text as a key: escaped two ways, it comes back with the same bytes and the namespace
/// segment stays the one written before it.
func checkKeyRoundTrip(_ key: String) {
    for encoded in [escapeMinimally(key), escapeEveryByte(key)] {
        for suffix in ["", "/append"] {
            let text = "/memory/team-1/" + encoded + suffix
            let target = RequestTarget(text)
            if target.segment(0) != "memory" || target.segment(1) != "team-1" {
                violated("the key \(Array(key.utf8)) changed the route or namespace: \(target.rawSegments)")
            }
            guard let decoded = target.remainder(from: 2, droppingLast: suffix.isEmpty ? 0 : 1) else {
                violated("key \(Array(key.utf8)) sent as \(encoded) does not decode")
            }
            if !decoded.bytesEqual(key) { violated("key \(Array(key.utf8)) sent as \(encoded) came back as \(Array(decoded.utf8))") }
        }
    }
}

/// A body the PUT route accepts gives a response that reads back the same.
func checkBody(_ body: [UInt8], key: String) {
    guard let json = try? JSONValue(parsing: body), let object = json.objectValue, case .string(let value)? = object["value"] else { return }
    let response: JSONValue = [
        "namespace": "team-1", "key": .string(key), "stored": true, "bytes": .int(value.utf8.count), "version": 1,
    ]
    guard let parsed = try? JSONValue(parsing: response.jsonData()), let fields = parsed.objectValue else {
        violated("a response body does not parse: \(response.jsonString())")
    }
    guard case .string(let keyBack)? = fields["key"], keyBack.bytesEqual(key), fields["bytes"]?.intValue == value.utf8.count else {
        violated("the response \(response.jsonString()) does not read back key \(Array(key.utf8))")
    }
    let echoed: JSONValue = ["value": .string(value)]
    guard case .string(let valueBack)? = (try? JSONValue(parsing: echoed.jsonData()))?.objectValue?["value"], valueBack.bytesEqual(value) else {
        violated("value \(Array(value.utf8)) does not survive a JSON round trip")
    }
}

/// Escapes only what RequestTarget gives a meaning to in a path (`%` and `?`), as the BotWire
/// client leaves the rest (`/` included: a key's slashes become path separators, rejoined).
func escapeMinimally(_ text: String) -> String {
    var output = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "%": output += "%25"
        case "?": output += "%3F"
        default: output.unicodeScalars.append(scalar)
        }
    }
    return output
}

/// Escapes every UTF-8 byte as `%XX` (upper or lower case hex, alternating, both must decode).
func escapeEveryByte(_ text: String) -> String {
    let digits = Array("0123456789ABCDEF0123456789abcdef")
    var output = ""
    for (index, byte) in text.utf8.enumerated() {
        let base = index % 2 == 0 ? 0 : 16
        output += "%" + String(digits[base + Int(byte >> 4)]) + String(digits[base + Int(byte & 0x0F)])
    }
    return output
}

/// The namespace rule, written independently of `Namespace.problem`.
func matchesNamespaceRule(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    func alphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }
    guard let first = bytes.first, alphanumeric(first), bytes.count <= 128 else { return false }
    return bytes.dropFirst().allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "-") }
}

/// A control character as the key rule defines it (C0, DEL, C1).
func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
}

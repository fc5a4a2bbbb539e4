// libFuzzer target: the JSON parser and writer. Any bytes either fail to parse with a
// JSONParseError or parse to a value that the writer writes back to text that parses to the
// same value (compact and pretty).
#if canImport(AgentMemoryJSON)
import AgentMemoryJSON
#endif
import AgentMemoryCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = bytes(data, size)
    guard let value = try? JSONValue(parsing: input) else { return 0 }
    for pretty in [false, true] {
        let text = value.jsonString(pretty: pretty, sortedKeys: pretty)
        guard let again = try? JSONValue(parsing: text) else { violated("the writer's output does not parse: \(text)") }
        if again != value { violated("round trip changed \(value) into \(again)") }
    }
    if value.jsonByteCount != Array(value.jsonString().utf8).count {
        violated("jsonByteCount \(value.jsonByteCount) for \(value.jsonString())")
    }
    return 0
}

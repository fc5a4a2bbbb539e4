// libFuzzer target: Messages API decoding. The first byte picks the input kind:
// - even: a response body. Decoding either throws or gives a response whose JSON decodes to
//   the same response (lossless: unknown blocks and fields kept).
// - odd: a server-sent event stream, fed in two chunks split where the second byte says. The
//   events must not depend on the split, and the accumulator either throws a typed error or
//   yields a response once complete.
#if canImport(AgentMemoryJSON)
import AgentMemoryJSON
#endif
import AgentMemoryCore
import ClaudeClient
import ClaudeMessages

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessages(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = bytes(data, size)
    guard let kind = input.first else { return 0 }
    let body = Array(input.dropFirst())
    if kind % 2 == 0 {
        guard let json = try? JSONValue(parsing: body), let response = try? MessageResponse(jsonValue: json) else { return 0 }
        guard let again = try? MessageResponse(jsonValue: .object(response.json)) else { violated("re-decoding failed for \(response.json)") }
        if again != response { violated("decoding is not lossless for \(json)") }
        _ = response.message
        _ = response.toolUses
        _ = response.text
        return 0
    }
    let split = body.isEmpty ? 0 : Int(body[0]) % (body.count + 1)
    var whole = ServerSentEventParser()
    let all = whole.feed(body)
    var chunked = ServerSentEventParser()
    let parts = chunked.feed(body[..<split]) + chunked.feed(body[split...])
    if all != parts { violated("events depend on the chunk split at \(split)") }
    var accumulator = MessageStreamAccumulator()
    for event in all {
        do { _ = try accumulator.apply(event) } catch is ClaudeAPIError { return 0 } catch { violated("untyped error \(error)") }
    }
    if accumulator.isComplete {
        do { _ = try accumulator.response() } catch is ClaudeAPIError {} catch { violated("untyped error \(error)") }
    }
    return 0
}

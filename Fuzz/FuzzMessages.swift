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
    // The parser is fed buffer pointers, not the array and its slices: `feed` takes
    // `some Sequence<UInt8>` and is not inlinable, so from here it runs unspecialised, and an
    // Array's iterator reads each element through a subscript coroutine whose frame, under
    // ASan, is allocated with malloc: two mallocs per byte and feed (8,458 mallocs for the
    // 1,330-byte seed `stream-full`, 463 this way). An UnsafeBufferPointer's iterator reads the
    // bytes directly; the parser's code and the bytes it gets are the same.
    let (all, parts) = body.withUnsafeBufferPointer { buffer in
        var whole = ServerSentEventParser()
        let all = whole.feed(buffer)
        var chunked = ServerSentEventParser()
        let parts = chunked.feed(UnsafeBufferPointer(rebasing: buffer[..<split]))
            + chunked.feed(UnsafeBufferPointer(rebasing: buffer[split...]))
        return (all, parts)
    }
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

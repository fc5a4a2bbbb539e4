import Foundation
import MCP

/// The answer to a POST as one `application/json` body instead of an event stream.
///
/// swift-sdk 0.12.1's `StatefulHTTPServerTransport` answers every POSTed request with a
/// `text/event-stream` (a priming event with empty data, then the JSON-RPC response as a
/// `message` event, then the end of the stream). The Streamable HTTP specification (2025-06-18
/// and later, "Sending Messages to the Server") lets the server answer with either
/// `text/event-stream` or `application/json`, and every client must accept both; the SDK's
/// `HTTPClientTransport` on Linux reads JSON only. So when the stream ends having carried
/// exactly one message, that message is the body; otherwise the stream is replayed unchanged.
enum MCPJSONAnswer {
    /// `response` with its event stream read to the end and turned into a JSON body, when it
    /// holds exactly one message; any other response as it is.
    static func collapse(_ response: HTTPResponse) async -> HTTPResponse {
        guard case .stream(let stream, let headers) = response else { return response }
        var received = Data()
        var failure: (any Error)?
        do {
            for try await chunk in stream { received += chunk }
        } catch {
            failure = error
        }
        let messages = failure == nil ? messages(in: received) : []
        guard messages.count == 1 else { return .stream(replay(received, failure: failure), headers: headers) }
        var answerHeaders = headers
        answerHeaders[HTTPHeaderName.contentType] = "application/json"
        answerHeaders[HTTPHeaderName.cacheControl] = nil
        answerHeaders[HTTPHeaderName.connection] = nil
        return .data(messages[0], headers: answerHeaders)
    }

    /// The non-empty `data` of each event in an SSE text (events end with a blank line; the
    /// data lines of one event are joined with newlines, as the SSE specification reads them;
    /// a CR LF ends a line as an LF does).
    ///
    /// Read byte by byte (the delimiters are ASCII, which UTF-8 never uses inside another
    /// character): Foundation's `replacingOccurrences` and `components(separatedBy:)`, through
    /// `NSString`, took about 78 µs for a response of 1 KB (BENCHMARKS.md, round forty-six).
    static func messages(in stream: Data) -> [Data] {
        // Invalid UTF-8 read as U+FFFD, as a `String` reads it.
        let bytes = Array(String(decoding: stream, as: UTF8.self).utf8)
        var messages: [Data] = []
        var joined: [UInt8] = []
        var dataLines = 0
        var start = 0
        let prefix = Array("data:".utf8)
        while start <= bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start, lineEnd < bytes.count, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if lineEnd == start {
                // A blank line (or the end of the text): the event ends.
                if !joined.isEmpty { messages.append(Data(joined)) }
                joined.removeAll(keepingCapacity: true)
                dataLines = 0
            } else if lineEnd - start >= prefix.count, bytes[start..<start + prefix.count].elementsEqual(prefix) {
                var value = start + prefix.count
                if value < lineEnd, bytes[value] == 0x20 { value += 1 }
                if dataLines > 0 { joined.append(0x0A) }
                joined.append(contentsOf: bytes[value..<lineEnd])
                dataLines += 1
            }
            start = end + 1
        }
        if !joined.isEmpty { messages.append(Data(joined)) }
        return messages
    }

    /// A stream that yields `received` once, then ends (with `failure`, if any).
    private static func replay(_ received: Data, failure: (any Error)?) -> AsyncThrowingStream<Data, any Error> {
        AsyncThrowingStream { continuation in
            if !received.isEmpty { continuation.yield(received) }
            continuation.finish(throwing: failure)
        }
    }
}

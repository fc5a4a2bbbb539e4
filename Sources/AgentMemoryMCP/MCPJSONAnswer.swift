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
    /// data lines of one event are joined with newlines, as the SSE specification reads them).
    static func messages(in stream: Data) -> [Data] {
        let text = String(decoding: stream, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        var messages: [Data] = []
        for event in text.components(separatedBy: "\n\n") {
            var data: [Substring] = []
            for line in event.split(separator: "\n", omittingEmptySubsequences: true) where line.hasPrefix("data:") {
                var value = line.dropFirst(5)
                if value.first == " " { value = value.dropFirst() }
                data.append(value)
            }
            let joined = data.joined(separator: "\n")
            if !joined.isEmpty { messages.append(Data(joined.utf8)) }
        }
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

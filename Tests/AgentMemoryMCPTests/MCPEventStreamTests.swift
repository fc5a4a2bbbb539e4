import Foundation
import Testing

@testable import AgentMemoryMCP

/// The messages a POST's event stream carries, read from its bytes (``MCPJSONAnswer``): the
/// same as when the stream was read with Foundation's string functions.
@Suite("MCP: the messages of an event stream")
struct MCPEventStreamTests {
    /// How the stream was read before (Foundation's `replacingOccurrences` and
    /// `components(separatedBy:)`).
    static func foundationMessages(_ stream: Data) -> [Data] {
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

    static func texts(_ stream: String) -> [String] {
        MCPJSONAnswer.messages(in: Data(stream.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func theSDKsStreamGivesItsOneMessage() {
        // The priming event (empty data), then the response as a `message` event.
        let stream = "id: 1\ndata: \n\nevent: message\nid: 2\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n"
        #expect(Self.texts(stream) == ["{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}"])
    }

    @Test func eventsLinesAndLineEnds() {
        #expect(Self.texts("data: a\ndata:b\ndata:  c\n\ndata: d") == ["a\nb\n c", "d"])
        #expect(Self.texts("data: a\r\n\r\ndata: b\r\n\r\n") == ["a", "b"])
        #expect(Self.texts("data: a\rb\n\n") == ["a\rb"])
        #expect(Self.texts("data: a\r\r\ndata: b\n\n") == ["a\r\nb"])
        #expect(Self.texts(": a comment\nevent: ping\n\n\n\ndata: x\n\n") == ["x"])
        #expect(Self.texts("data:\ndata:\n\n") == ["\n"])
        #expect(Self.texts("data:\n\n") == [])
        #expect(Self.texts("") == [])
        #expect(Self.texts("datum: x\n\n data: y\n\n") == [])
    }

    /// Random streams of fields, values and line ends give the messages Foundation's reading
    /// gave. Without lone CRs: a CR before a CR LF made Swift read the two as one character,
    /// so that the old reading did not end the line there (a malformed stream either way).
    @Test func randomStreamsGiveFoundationsMessages() {
        let pieces = ["data:", "data: ", "event: message", "id: 1", ": note", "\n", "\n", "\r\n", "x", "{\"a\":[1,2]}", "é", "中", "👍🏽", " ", "data"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3_000 {
            let stream = (0..<Int.random(in: 0...30, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let data = Data(stream.utf8)
            #expect(MCPJSONAnswer.messages(in: data) == Self.foundationMessages(data), "\(stream.debugDescription)")
        }
        // Invalid UTF-8 reads as U+FFFD, as before.
        let invalid = Data("data: a".utf8) + Data([0xFF, 0xFE]) + Data("\n\n".utf8)
        #expect(MCPJSONAnswer.messages(in: invalid) == Self.foundationMessages(invalid))
    }
}

@testable import AgentMemoryServer
import Testing

/// The request target is split on bytes, never on Characters (defect 5 in RELIABILITY.md).
@Suite("Request target")
struct RequestTargetTests {
    @Test("a separator followed by a combining mark still separates")
    func combiningMarkAfterSeparators() {
        // "/" + U+0301 is one Character to Swift; split on Characters, this read as the list route.
        let target = RequestTarget("/memory/ns/\u{301}key?limit=3&\u{301}x=1")
        #expect(target.rawSegments.map(String.init) == ["memory", "ns", "\u{301}key"])
        #expect(target.segment(2).map { Array($0.utf8) } == Array("\u{301}key".utf8))
        #expect(target.query["limit"] == "3")
        #expect(target.query.keys.map { Array($0.utf8) } .contains(Array("\u{301}x".utf8)))
    }

    @Test("keys with slashes, plus signs, percent signs and encoded UTF-8 decode exactly")
    func keysDecodeExactly() {
        let target = RequestTarget("/memory/team/a/b+c/100%/%E6%97%A5%2F?prefix=x+y")
        #expect(target.segment(0) == "memory")
        #expect(target.remainder(from: 2) == "a/b+c/100%/日/")
        #expect(target.query["prefix"] == "x y")
    }

    /// Found by fuzz-http-request (defect 7): Foundation's `String(bytes:encoding:)` dropped a
    /// leading byte order mark, so `%EF%BB%BF…` decoded to another key.
    @Test("a key that starts with a byte order mark keeps it, escaped or not")
    func byteOrderMarkIsKept() {
        let key = "\u{FEFF}\u{FFFD}n\u{FFFD}oy"
        let escaped = RequestTarget("/memory/team-1/%EF%bb%BF%ef%BF%bd%6E%ef%BF%bd%6F%79")
        #expect(escaped.remainder(from: 2).map { Array($0.utf8) } == Array(key.utf8))
        let raw = RequestTarget("/memory/team-1/\u{FEFF}x")
        #expect(raw.remainder(from: 2).map { Array($0.utf8) } == Array("\u{FEFF}x".utf8))
        #expect(RequestTarget("/memory/team-1/%EF%BB%BF").remainder(from: 2).map { Array($0.utf8) } == [0xEF, 0xBB, 0xBF])
        // Bytes that are not UTF-8 are still refused, never repaired.
        #expect(RequestTarget("/memory/team-1/%EF%BB").remainder(from: 2) == nil)
    }
}

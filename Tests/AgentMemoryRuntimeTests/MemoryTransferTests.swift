import AgentMemory
import AgentMemoryRuntime
import Foundation
import Testing

/// JSON Lines export and import: checked against the store's own limits, every bad line
/// reported with its number, nothing written when one is bad, and a lossless round trip.
@Suite("MemoryExport and MemoryImport")
struct MemoryTransferTests {
    let namespace = try! Namespace("team")
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func lines(_ lines: String...) -> Data { Data(lines.joined(separator: "\n").utf8) }

    @Test func aLineOverTheStoresValueLimitIsReportedAndNothingIsImported() async throws {
        let store = InMemoryMemoryStore(limits: MemoryLimits(maxValueBytes: 10))
        let input = lines(#"{"key":"small","value":"tiny"}"#, #"{"key":"big","value":"more than ten bytes"}"#, #"{"key":"also","value":1}"#)
        await #expect(
            throws: MemoryImportError(problems: [
                .init(line: 2, message: "Value for key \"big\" is 21 bytes of JSON, the limit is 10 bytes")
            ])
        ) {
            try await MemoryImport.run(input, into: store, namespace: namespace, agent: "importer", now: now)
        }
        #expect(try await store.list(in: namespace).records.isEmpty)
        // The same lines fit a store with the default limits: the limit was the store's.
        let roomy = InMemoryMemoryStore()
        let imported = try await MemoryImport.run(input, into: roomy, namespace: namespace, agent: "importer", now: now)
        #expect(imported.operations.count == 3)
        #expect(try await roomy.list(in: namespace).records.map(\.key) == ["also", "big", "small"])
    }

    @Test func everyBadLineIsReportedWithItsNumber() throws {
        let input = lines(
            #"{"key":"good","value":1}"#, #"{"key":"bad","value":"#, #"{"value":"no key"}"#, "   ",
            #"{"key":"","value":1}"#, "[1]")
        #expect(
            throws: MemoryImportError(problems: [
                .init(line: 2, message: "not valid JSON: Unexpected end of input at byte 21"),
                .init(line: 3, message: "field \"key\" must be a string"),
                .init(line: 5, message: "Invalid key: a key must not be empty (1 to 512 UTF-8 bytes)"),
                .init(line: 6, message: "a record must be a JSON object"),
            ])
        ) {
            try MemoryImport(jsonLines: input, limits: .default, agent: nil, now: now)
        }
        let error = MemoryImportError(problems: [.init(line: 2, message: "a"), .init(line: 7, message: "b")])
        #expect(error.description == "nothing was imported; fix these lines:\nline 2: a\nline 7: b")
    }

    @Test func exportThenImportKeepsValuesAuthorsAndTimeToLive() async throws {
        let clock: @Sendable () -> Date = { [now] in now }
        let source = InMemoryMemoryStore(clock: clock)
        try await source.put("doc", value: ["a": [1, 2.5, "x"]], in: namespace, options: PutOptions(author: "writer"))
        try await source.put("note", value: "héllo\nworld", in: namespace, options: PutOptions(ttl: .seconds(60)))
        var exported = ""
        try await MemoryExport.write(from: source, namespace: namespace) { exported += $0 }
        let expectedFirst = #"{"key":"doc","value":{"a":[1,2.5,"x"]},"version":1,"createdAt":"2027-01-15T08:00:00.000Z","#
            + #""updatedAt":"2027-01-15T08:00:00.000Z","author":"writer","expiresAt":null}"#
        #expect(exported.split(separator: "\n").first.map(String.init) == expectedFirst)
        #expect(exported.split(separator: "\n").count == 2)
        #expect(exported.hasSuffix("\n"))

        let copy = try Namespace("copy")
        let target = InMemoryMemoryStore(clock: clock)
        let imported = try await MemoryImport.run(Data(exported.utf8), into: target, namespace: copy, agent: "importer", now: now)
        #expect(imported.skippedExpired == 0)
        let doc = try #require(try await target.get("doc", in: copy))
        #expect(doc.value == ["a": [1, 2.5, "x"]])
        #expect(doc.author == "writer")
        #expect(doc.expiresAt == nil)
        let note = try #require(try await target.get("note", in: copy))
        #expect(note.value == "héllo\nworld")
        #expect(note.author == "importer")
        #expect(note.expiresAt == now.addingTimeInterval(60))
    }

    /// Lines end at `\n` (a `\r` before it is dropped); the text after the last newline is a
    /// line; numbers count every line, blank ones too; a `Data` slice is read from its start.
    @Test func linesAreNumberedAcrossCRLFAndBlankLinesInASlice() throws {
        let text = "\r\n" + #"{"key":"a","value":1}"# + "\r\n\n \t\n" + #"{"key":"b","value":"# + "\r\n" + #"{"key":"c","value":3}"#
        let padded = Data(("[ignored]\n" + text).utf8)
        let slice = padded[padded.index(padded.startIndex, offsetBy: "[ignored]\n".utf8.count)...]
        #expect(
            throws: MemoryImportError(problems: [.init(line: 5, message: "not valid JSON: Unexpected end of input at byte 19")])
        ) {
            try MemoryImport(jsonLines: slice, limits: .default, agent: nil, now: now)
        }
        let fixed = Data(text.replacingOccurrences(of: #""value":"# + "\r", with: #""value":2}"# + "\r").utf8)
        let checked = try MemoryImport(jsonLines: fixed, limits: .default, agent: nil, now: now)
        #expect(checked.operations.map(\.key) == ["a", "b", "c"])
        #expect(try MemoryImport(jsonLines: Data(), limits: .default, agent: nil, now: now).operations.isEmpty)
        #expect(try MemoryImport(jsonLines: Data("\n\n".utf8), limits: .default, agent: nil, now: now).operations.isEmpty)
    }

    @Test func expiredRecordsAreSkippedAndBlankLinesIgnored() throws {
        let input = lines(
            #"{"key":"old","value":1,"expiresAt":"2027-01-15T07:59:59.000Z"}"#, "",
            #"{"key":"live","value":2,"expiresAt":"2027-01-15T08:00:30.000Z"}"#, "")
        let checked = try MemoryImport(jsonLines: input, limits: .default, agent: "a", now: now)
        #expect(checked.skippedExpired == 1)
        #expect(checked.operations == [.put(key: "live", value: 2, options: PutOptions(ttl: .seconds(30), author: "a"))])
    }
}

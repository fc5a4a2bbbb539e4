import AgentMemory
import AgentMemoryServer
import Testing

/// `ETag` and `If-Match`, append, search and the change feed: what the server adds to BotWire.
@Suite struct CompareAndSetTests {
    @Test func ifMatchWritesOnlyAtTheExpectedVersion() async throws {
        try await withLiveServer { (client: HTTPTestClient) async throws in
            let create = try await client.put("/memory/team/counter", value: "0", headers: [("If-Match", "\"0\"")])
            #expect(create.status == 200)
            #expect(create.headers["etag"] == "\"1\"")
            let again = try await client.put("/memory/team/counter", value: "0", headers: [("If-Match", "\"0\"")])
            #expect(again.status == 412)
            #expect(again.json["current_version"] == 1)
            #expect(again.headers["etag"] == "\"1\"")
            let next = try await client.put("/memory/team/counter", value: "1", headers: [("If-Match", "\"1\"")])
            #expect(next.status == 200)
            #expect(next.json["version"] == 2)
            let stale = try await client.put("/memory/team/counter", value: "9", headers: [("If-Match", "\"1\"")])
            #expect(stale.status == 412)
            #expect(stale.json["current_version"] == 2)
            #expect(try await client.get("/memory/team/counter").json["value"] == "1")

            let staleDelete = try await client.delete("/memory/team/counter", headers: [("If-Match", "\"1\"")])
            #expect(staleDelete.status == 412)
            #expect(staleDelete.json["current_version"] == 2)
            #expect(try await client.delete("/memory/team/counter", headers: [("If-Match", "\"2\"")]).status == 200)

            let malformed = try await client.put("/memory/team/counter", value: "x", headers: [("If-Match", "abc")])
            #expect(malformed.status == 400)
        }
    }

    @Test func appendJoinsStringsAndStartsListsAsTheStoreDoes() async throws {
        try await withLiveServer { (client: HTTPTestClient) async throws in
            _ = try await client.put("/memory/team/log", value: "one")
            let second = try await client.send("POST", "/memory/team/log/append", body: Array(#"{"value": "two", "separator": "\n"}"#.utf8))
            #expect(second.status == 200)
            #expect(second.json == ["namespace": "team", "key": "log", "stored": true, "bytes": 7, "version": 2])
            #expect(second.headers["etag"] == "\"2\"")
            #expect(try await client.get("/memory/team/log").json["value"] == "one\ntwo")

            let fresh = try await client.send("POST", "/memory/team/items/append", body: Array(#"{"value": "first"}"#.utf8))
            #expect(fresh.json["version"] == 1)
            #expect(try await client.get("/memory/team/items").json["value"] == #"["first"]"#)

            let stale = try await client.send(
                "POST", "/memory/team/log/append", headers: [("If-Match", "\"1\"")], body: Array(#"{"value": "x"}"#.utf8))
            #expect(stale.status == 412)
            #expect(stale.json["current_version"] == 2)
            let bad = try await client.send("POST", "/memory/team/log/append", body: Array(#"{"value": 1}"#.utf8))
            #expect(bad.status == 422)
            #expect(try await client.get("/memory/team/log").json["value"] == "one\ntwo")
        }
    }

    @Test func searchAndChangesReportWhatWasWritten() async throws {
        try await withLiveServer { (client: HTTPTestClient) async throws in
            _ = try await client.put("/memory/team/pets", value: "the cat sleeps on the sofa")
            _ = try await client.put("/memory/team/food", value: "tea and toast")
            _ = try await client.delete("/memory/team/food")
            let search = try await client.get("/search/team?q=cat")
            #expect(search.status == 200)
            #expect(search.json["results"]?.arrayValue?.map { $0["key"] } == ["pets"])
            #expect(try await client.get("/search/team").status == 400)

            let changes = try await client.get("/changes/team?since=0")
            #expect(changes.status == 200)
            let list = try #require(changes.json["changes"]?.arrayValue)
            #expect(list.map { $0["key"] } == ["pets", "food", "food"])
            #expect(list.map { $0["operation"] } == ["put", "put", "delete"])
            let last = try #require(changes.json["last_sequence"]?.intValue)
            let after = try await client.get("/changes/team?since=\(last)")
            #expect(after.json["changes"] == [])
            #expect(after.json["last_sequence"] == .int(last))
        }
    }

    @Test func changeStreamSendsEventsAsServerSentEvents() async throws {
        try await withLiveServer { (client: HTTPTestClient) async throws in
            _ = try await client.put("/memory/team/one", value: "1")
            _ = try await client.put("/memory/team/two", value: "2")
            let text = try await client.readStream(
                "/changes/team?since=0", headers: [("Accept", "text/event-stream")], until: "event: change", count: 2)
            #expect(text.contains("content-type: text/event-stream") || text.contains("Content-Type: text/event-stream"))
            #expect(text.contains("event: change\ndata: {\"sequence\":1,\"key\":\"one\",\"operation\":\"put\""))
            #expect(text.contains("event: change\ndata: {\"sequence\":2,\"key\":\"two\",\"operation\":\"put\""))
        }
    }
}

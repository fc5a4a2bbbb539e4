import AgentMemory
import AgentMemoryServer
import Testing

/// The BotWire-compatible routes: every status and body the client reads.
@Suite struct MemoryRouteTests {
    @Test func putGetDeleteRoundTrip() async throws {
        try await withLiveServer { (client: HTTPTestClient) async throws in
            let put = try await client.put("/memory/team/greeting", value: "héllo")
            #expect(put.status == 200)
            #expect(put.json == ["namespace": "team", "key": "greeting", "stored": true, "bytes": 6, "version": 1])
            #expect(put.headers["etag"] == "\"1\"")

            let get = try await client.get("/memory/team/greeting")
            #expect(get.status == 200)
            #expect(get.headers["etag"] == "\"1\"")
            #expect(get.headers["content-type"] == "application/json")
            let object = try #require(get.json.objectValue)
            #expect(object.keys == ["namespace", "key", "value", "created_at", "updated_at", "version", "author"])
            #expect(object["value"] == "héllo")
            #expect(object["namespace"] == "team")
            let created = try #require(object["created_at"]?.doubleValue)
            #expect(created > 1_700_000_000)
            #expect(object["updated_at"]?.doubleValue == created)

            let delete = try await client.delete("/memory/team/greeting")
            #expect(delete.status == 200)
            #expect(delete.json == ["deleted": true, "namespace": "team", "key": "greeting"])

            let missing = try await client.get("/memory/team/greeting")
            #expect(missing.status == 404)
            #expect(missing.json == ["detail": "Key not found: team/greeting"])
            let deleteMissing = try await client.delete("/memory/team/greeting")
            #expect(deleteMissing.status == 404)
            #expect(deleteMissing.json == ["detail": "Key not found: team/greeting"])
        }
    }

    @Test func putRejectsMissingOrNonStringValuesWith422() async throws {
        try await withLiveServer { (client: HTTPTestClient) async throws in
            let number = try await client.put("/memory/team/k", value: 3)
            #expect(number.status == 422)
            #expect(number.json == ["detail": "Field \"value\" is required and must be a string"])
            let missing = try await client.send("PUT", "/memory/team/k", body: Array(#"{"other": "x"}"#.utf8))
            #expect(missing.status == 422)
            #expect(missing.json == ["detail": "Field \"value\" is required and must be a string"])
            let notJSON = try await client.send("PUT", "/memory/team/k", body: Array("value=x".utf8))
            #expect(notJSON.status == 422)
            #expect(notJSON.json == ["detail": "The body must be a JSON object such as {\"value\": \"...\"}"])
            #expect(try await client.get("/memory/team/k").status == 404)
        }
    }

    @Test func invalidNamespaceKeyOrValueIs400() async throws {
        try await withLiveServer(store: InMemoryMemoryStore(limits: MemoryLimits(maxValueBytes: 10))) { (client: HTTPTestClient) async throws in
            let namespace = try await client.put("/memory/-bad/k", value: "x")
            #expect(namespace.status == 400)
            #expect(namespace.json["detail"]?.stringValue?.hasPrefix("Invalid namespace \"-bad\"") == true)
            let longKey = String(repeating: "k", count: 513)
            let key = try await client.put("/memory/team/\(longKey)", value: "x")
            #expect(key.status == 400)
            #expect(key.json == ["detail": "Invalid key: the key is 513 UTF-8 bytes, the limit is 512"])
            let control = try await client.put("/memory/team/a%01b", value: "x")
            #expect(control.status == 400)
            #expect(control.json == ["detail": "Invalid key: keys must not contain control characters (found U+0001)"])
            let large = try await client.put("/memory/team/big", value: "0123456789")
            #expect(large.status == 400)
            #expect(large.json == ["detail": "Value for key \"big\" is 12 bytes of JSON, the limit is 10 bytes"])
        }
    }

    @Test func listGivesKeysAsStringsInByteOrderWithPaging() async throws {
        try await withLiveServer { (client: HTTPTestClient) async throws in
            for key in ["b", "a/2", "a/1", "Z", "%C3%A9"] {
                #expect(try await client.put("/memory/team/\(key)", value: "v").status == 200)
            }
            _ = try await client.put("/memory/elsewhere/a/3", value: "v")
            let all = try await client.get("/memory/team")
            #expect(all.status == 200)
            #expect(all.json == ["namespace": "team", "count": 5, "keys": ["Z", "a/1", "a/2", "b", "é"], "next_cursor": nil])

            let first = try await client.get("/memory/team?limit=2")
            #expect(first.json["keys"] == ["Z", "a/1"])
            let cursor = try #require(first.json["next_cursor"]?.stringValue)
            let second = try await client.get("/memory/team?limit=2&cursor=\(cursor)")
            #expect(second.json["keys"] == ["a/2", "b"])

            let prefixed = try await client.get("/memory/team?prefix=a%2F")
            #expect(prefixed.json == ["namespace": "team", "count": 2, "keys": ["a/1", "a/2"], "next_cursor": nil])

            let badLimit = try await client.get("/memory/team?limit=0")
            #expect(badLimit.status == 400)
            #expect(badLimit.json == ["detail": "limit must be a whole number from 1 to 10000"])
            let empty = try await client.get("/memory/nobody")
            #expect(empty.json == ["namespace": "nobody", "count": 0, "keys": [], "next_cursor": nil])
        }
    }

    @Test func listWithoutParametersGivesAThousandKeys() async throws {
        let store = InMemoryMemoryStore()
        let namespace = try Namespace("big")
        for index in 0..<1000 {
            _ = try await store.put(MemoryKey("k\(1000 + index)"), value: "v", in: namespace)
        }
        try await withLiveServer(store: store) { (client: HTTPTestClient) async throws in
            let all = try await client.get("/memory/big")
            #expect(all.json["count"] == 1000)
            #expect(all.json["keys"]?.arrayValue?.count == 1000)
            #expect(all.json["keys"]?.arrayValue?.last == "k1999")
            #expect(all.json["next_cursor"] == .null)
        }
    }

    @Test func listHidesTheLibrarysReservedKeysUnlessAll() async throws {
        let store = InMemoryMemoryStore()
        _ = try await store.put(MemoryKey("_agent_memory/sessions/s1"), value: "transcript", in: Namespace("team"))
        _ = try await store.put(MemoryKey("fact"), value: "v", in: Namespace("team"))
        try await withLiveServer(store: store) { (client: HTTPTestClient) async throws in
            #expect(try await client.get("/memory/team").json["keys"] == ["fact"])
            #expect(try await client.get("/memory/team?all=true").json["keys"] == ["_agent_memory/sessions/s1", "fact"])
        }
    }

    @Test func nonStringValuesReadAsTheirJSONText() async throws {
        let store = InMemoryMemoryStore()
        _ = try await store.put(MemoryKey("list"), value: [1, "two"], in: Namespace("team"))
        try await withLiveServer(store: store) { (client: HTTPTestClient) async throws in
            #expect(try await client.get("/memory/team/list").json["value"] == #"[1,"two"]"#)
        }
    }

    @Test func unknownRoutesAndMethodsAnswerJSONWithoutRedirecting() async throws {
        try await withLiveServer { (client: HTTPTestClient) async throws in
            let unknown = try await client.get("/nothing/here")
            #expect(unknown.status == 404)
            #expect(unknown.json == ["detail": "Not Found"])
            let method = try await client.send("PATCH", "/memory/team/k")
            #expect(method.status == 405)
            #expect(method.json == ["detail": "Method Not Allowed"])
            #expect(method.headers["allow"] == "GET, PUT, DELETE")
            let slash = try await client.get("/memory/team/")
            #expect(slash.status == 200)
            #expect(slash.headers["location"] == nil)
            let health = try await client.get("/healthz")
            #expect(health.status == 200)
            #expect(health.json == ["status": "ok"])
        }
    }
}

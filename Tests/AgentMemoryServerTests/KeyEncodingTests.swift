import AgentMemory
import AgentMemoryServer
import Testing

/// Keys travel in the raw path: what the BotWire client sends unescaped or percent-encoded is
/// stored and read back exactly, and two namespaces never see each other's keys.
@Suite struct KeyEncodingTests {
    /// (what the client puts in the path, the key the store must hold)
    static let cases: [(String, String)] = [
        ("notes/2024/today", "notes/2024/today"),
        ("a+b", "a+b"),
        ("100%", "100%"),
        ("50%off", "50%off"),
        ("%zz", "%zz"),
        ("x:y~z;w", "x:y~z;w"),
        ("with%20space", "with space"),
        ("caf%C3%A9", "café"),
        ("%E6%97%A5%E6%9C%AC", "日本"),
        ("slash%2Finside", "slash/inside"),
        ("percent%2520", "percent%20"),
    ]

    @Test(arguments: 0..<cases.count)
    func keyIsStoredAndReadBackExactly(index: Int) async throws {
        let (raw, key) = Self.cases[index]
        let store = InMemoryMemoryStore()
        try await withLiveServer(store: store) { (client: HTTPTestClient) async throws in
            let put = try await client.put("/memory/team/\(raw)", value: .string("value of \(key)"))
            #expect(put.status == 200)
            #expect(put.json["key"] == .string(key))
            let record = try await store.get(MemoryKey(key), in: Namespace("team"))
            #expect(record?.value == .string("value of \(key)"))
            let get = try await client.get("/memory/team/\(raw)")
            #expect(get.status == 200)
            #expect(get.json["key"] == .string(key))
            #expect(get.json["value"] == .string("value of \(key)"))
            #expect(try await client.get("/memory/team").json["keys"] == [.string(key)])
            #expect(try await client.delete("/memory/team/\(raw)").status == 200)
            #expect(try await store.get(MemoryKey(key), in: Namespace("team")) == nil)
        }
    }

    @Test func invalidUTF8AfterDecodingIs400() async throws {
        try await withLiveServer { (client: HTTPTestClient) async throws in
            let response = try await client.put("/memory/team/bad%FF", value: "x")
            #expect(response.status == 400)
            #expect(response.json == ["detail": "Invalid key: not valid UTF-8 once percent-decoded"])
        }
    }

    @Test func namespacesAreIsolated() async throws {
        try await withLiveServer { (client: HTTPTestClient) async throws in
            #expect(try await client.put("/memory/alpha/shared", value: "from alpha").status == 200)
            #expect(try await client.put("/memory/beta/shared", value: "from beta").status == 200)
            #expect(try await client.get("/memory/alpha/shared").json["value"] == "from alpha")
            #expect(try await client.get("/memory/beta/shared").json["value"] == "from beta")
            #expect(try await client.delete("/memory/alpha/shared").status == 200)
            #expect(try await client.get("/memory/alpha/shared").status == 404)
            #expect(try await client.get("/memory/beta/shared").json["value"] == "from beta")
            #expect(try await client.get("/memory/alpha").json["keys"] == [])
            // A key cannot climb out of its namespace.
            #expect(try await client.put("/memory/alpha/../beta/shared", value: "sneaky").json["key"] == "../beta/shared")
            #expect(try await client.get("/memory/beta/shared").json["value"] == "from beta")
        }
    }
}

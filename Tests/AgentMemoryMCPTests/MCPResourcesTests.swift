import AgentMemory
import AgentMemoryMCP
import MCP
import Testing

@Suite("MCP resources: memory://NAMESPACE/KEY")
struct MCPResourcesTests {
    static let awkwardKeys = ["notes/2026/plan", "a key with spaces", "100% sure", "café", "cafe\u{301}", "日本語/メモ", "+~;:?#[]@!"]

    @Test("URIs percent-encode every byte but the unreserved ones and decode byte-exactly")
    func uriRoundTrip() throws {
        let namespace = try Namespace("crew:one")
        #expect(MemoryResourceURI(namespace: namespace, key: "a/b c%").description == "memory://crew%3Aone/a%2Fb%20c%25")
        #expect(MemoryResourceURI(namespace: namespace, key: "café").description == "memory://crew%3Aone/caf%C3%A9")
        for key in Self.awkwardKeys {
            let parsed = try #require(MemoryResourceURI(parsing: MemoryResourceURI(namespace: namespace, key: key).description))
            #expect(Array(parsed.key.utf8) == Array(key.utf8))
            #expect(parsed.namespace == namespace)
        }
        #expect(MemoryResourceURI(parsing: "memory://team/bad%2") == nil)
        #expect(MemoryResourceURI(parsing: "memory://team/bad%zz") == nil)
        #expect(MemoryResourceURI(parsing: "memory://team/%FF") == nil)
        #expect(MemoryResourceURI(parsing: "memory://team/") == nil)
        #expect(MemoryResourceURI(parsing: "file://team/k") == nil)
        #expect(MemoryResourceURI(parsing: "memory://bad%20ns/k") == nil)
    }

    @Test("resources/list pages through every key in byte order; reserved keys never appear", arguments: [1, 2, 3, 4, 100], [1, 3])
    func listWithPaging(pageSize: Int, reservedCount: Int) async throws {
        let store = InMemoryMemoryStore()
        let namespace = MCPHarness.namespace
        for key in Self.awkwardKeys { _ = try await store.put(key, value: .string("value of \(key)"), in: namespace) }
        for index in 0..<reservedCount { _ = try await store.put("_agent_memory/session/\(index)", value: "hidden", in: namespace) }
        _ = try await store.put("json", value: ["n": 1], in: namespace)
        _ = try await store.put("other", value: "elsewhere", in: try Namespace("other"))
        let harness = try await MCPHarness.start(pageSize: pageSize, store: store)
        defer { Task { await harness.stop() } }

        var resources: [Resource] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await harness.client.listResources(cursor: cursor)
            #expect(page.resources.count <= pageSize)
            resources += page.resources
            cursor = page.nextCursor
            pages += 1
        } while cursor != nil
        let expected = (Self.awkwardKeys + ["json"]).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(resources.map(\.name) == expected)
        #expect(pages == (expected.count + pageSize - 1) / pageSize)
        #expect(resources.map(\.uri) == expected.map { MemoryResourceURI(namespace: namespace, key: $0).description })
        #expect(resources.first { $0.name == "json" }?.mimeType == "application/json")
        // Byte comparison: `==` on String would also match the NFD spelling.
        let nfc = resources.first { Array($0.name.utf8) == Array("caf\u{E9}".utf8) }
        #expect(nfc?.mimeType == "text/plain")
        #expect(nfc?.size == "value of caf\u{E9}".utf8.count)
    }

    @Test("resources/read gives each value exactly, by its listed URI")
    func read() async throws {
        let store = InMemoryMemoryStore()
        for key in Self.awkwardKeys { _ = try await store.put(key, value: .string("value of \(key)"), in: MCPHarness.namespace) }
        _ = try await store.put("json", value: ["n": 1], in: MCPHarness.namespace)
        let harness = try await MCPHarness.start(store: store)
        defer { Task { await harness.stop() } }
        for resource in try await harness.client.listResources().resources {
            let contents = try await harness.client.readResource(uri: resource.uri)
            #expect(contents.count == 1)
            #expect(contents.first?.uri == resource.uri)
            let expected = resource.name == "json" ? "{\"n\":1}" : "value of \(resource.name)"
            #expect(contents.first?.text.map { Array($0.utf8) } == Array(expected.utf8))
        }
        // NFC and NFD spellings are different keys, read apart.
        let nfd = MemoryResourceURI(namespace: MCPHarness.namespace, key: "cafe\u{301}").description
        #expect(try await harness.client.readResource(uri: nfd).first?.text.map { Array($0.utf8) } == Array("value of cafe\u{301}".utf8))
    }

    @Test("reading a missing, reserved, malformed or foreign URI is a protocol error naming it", arguments: [
        ("memory://team/missing", -32002),
        ("memory://team/_agent_memory%2Fsession%2F1", -32002),
        ("memory://team/bad%2", -32602),
        ("memory://other/k", -32602),
        ("https://example.com/k", -32602),
    ])
    func readErrors(uri: String, code: Int) async throws {
        let store = InMemoryMemoryStore()
        _ = try await store.put("_agent_memory/session/1", value: "hidden", in: MCPHarness.namespace)
        _ = try await store.put("k", value: "v", in: try Namespace("other"))
        let harness = try await MCPHarness.start(store: store)
        defer { Task { await harness.stop() } }
        do {
            _ = try await harness.client.readResource(uri: uri)
            Issue.record("read \(uri) succeeded")
        } catch let error as MCPError {
            #expect(error.code == code)
        }
    }

    @Test("resources/templates/list gives the one template")
    func template() async throws {
        let harness = try await MCPHarness.start()
        defer { Task { await harness.stop() } }
        let templates = try await harness.client.listResourceTemplates().templates
        #expect(templates.map(\.uriTemplate) == ["memory://{namespace}/{key}"])
    }
}

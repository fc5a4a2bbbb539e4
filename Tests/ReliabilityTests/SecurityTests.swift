import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing

/// Two namespaces in one SQLite file: the attacker's executor must never read or change the
/// victim's records, whatever it passes as keys, prefixes, cursors, queries or paths.
struct EscapeFixture {
    let folder: URL
    let store: SQLiteMemoryStore
    let victim = try! Namespace("victim")
    let attacker = try! Namespace("attacker")
    let executor: MemoryToolExecutor

    init() async throws {
        folder = try scratchDirectory("security")
        store = try SQLiteMemoryStore(path: folder.appendingPathComponent("memory.sqlite").path)
        try await store.put("secret", value: "classified plans ZX81", in: victim)
        try await store.put("/memories/secret.txt", value: "classified file ZX81", in: victim)
        try await store.put("mine", value: "attacker note", in: attacker)
        executor = MemoryToolExecutor(store: store, namespace: attacker, agent: "attacker", tools: MemoryToolKind.allCases)
    }

    /// Fails unless the victim namespace holds exactly what it was given, untouched.
    func expectVictimUntouched(_ context: String) async throws {
        let records = try await store.allRecords(in: victim)
        #expect(records.map(\.key) == ["/memories/secret.txt", "secret"], "\(context)")
        #expect(records.allSatisfy { $0.version == 1 }, "\(context)")
        #expect(try await store.changes(in: victim, since: 0, limit: 100).count == 2, "\(context)")
    }

    /// Runs a call as the attacker; fails if its result shows the victim's values (marked
    /// with a token no attack contains).
    func attack(_ name: String, _ input: JSONValue) async -> MemoryToolExecutor.Outcome {
        let outcome = await executor.run(name: name, input: input)
        #expect(!outcome.text.contains("ZX81"), "\(name) \(input) -> \(outcome.text)")
        return outcome
    }
}

@Suite("Security: no key, prefix, cursor, query or path leaves its namespace")
struct SecurityTests {
    static let hostileKeys = [
        "victim/secret", "victim:secret", "../victim/secret", "victim\\secret", "/victim/secret", "secret%00victim",
        "' OR namespace='victim' --", "secret\" OR 1=1 --", "*", "%", "_", "secret'; DROP TABLE records; --",
    ]

    @Test("hostile keys: recall, remember and forget stay in the attacker's namespace")
    func keys() async throws {
        let fixture = try await EscapeFixture()
        for key in Self.hostileKeys {
            _ = await fixture.attack("recall", ["key": .string(key)])
            _ = await fixture.attack("remember", ["key": .string(key), "value": "overwritten"])
            _ = await fixture.attack("forget", ["key": .string(key)])
        }
        _ = await fixture.attack("recall", ["key": "secret"])
        try await fixture.expectVictimUntouched("keys")
    }

    @Test("prefixes with LIKE and GLOB wildcards list only the attacker's keys")
    func prefixes() async throws {
        let fixture = try await EscapeFixture()
        for prefix in ["", "%", "_", "*", "s", "secret", "victim", "[", "\\", "' OR 1=1 --", "/memories/"] {
            let page = try await fixture.store.list(in: fixture.attacker, prefix: prefix, cursor: nil, limit: 100)
            #expect(page.records.allSatisfy { $0.key.hasPrefix(prefix) && $0.value != "classified plans ZX81" }, "prefix \(prefix)")
            _ = await fixture.attack("list_memory", ["prefix": .string(prefix)])
        }
        try await fixture.expectVictimUntouched("prefixes")
    }

    @Test("a cursor from another namespace or a forged one never reads outside the namespace")
    func cursors() async throws {
        let fixture = try await EscapeFixture()
        let foreign = try #require(try await fixture.store.list(in: fixture.victim, prefix: nil, cursor: nil, limit: 1).nextCursor)
        var cursors = [foreign]
        for key in ["", "\u{0}", "' OR 1=1 --", "victim/secret", String(repeating: "z", count: 600)] {
            cursors.append(ListCursor.encode(afterKey: key))
        }
        for cursor in cursors {
            if let page = try? await fixture.store.list(in: fixture.attacker, prefix: nil, cursor: cursor, limit: 100) {
                #expect(page.records.allSatisfy { $0.key == "mine" }, "cursor \(cursor)")
            }
            _ = await fixture.attack("list_memory", ["cursor": .string(cursor)])
        }
        for garbage in ["", "!!!", "k1:", "a2V5", String(repeating: "A", count: 10_000), "\u{0}"] {
            await #expect(throws: MemoryError.self, "cursor \(garbage)") {
                try await fixture.store.list(in: fixture.attacker, prefix: nil, cursor: garbage, limit: 10)
            }
        }
        try await fixture.expectVictimUntouched("cursors")
    }

    static let hostileQueries = [
        "classified", "classified*", "\"classified", "classified OR plans", "NEAR(classified plans)", "value:classified",
        "{key value}: classified", "^classified", "classified AND NOT x", "') OR 1=1 --", "'; DELETE FROM records; --",
        "* OR *", "\"\"\"", "(((", "namespace:victim", "classified\u{0}", "col MATCH 'x'",
    ]

    @Test("FTS syntax and SQL fragments in search queries: a clear result or error, never another namespace")
    func searches() async throws {
        let fixture = try await EscapeFixture()
        for query in Self.hostileQueries {
            do {
                let hits = try await fixture.store.search(query, in: fixture.attacker, limit: 50)
                #expect(hits.allSatisfy { $0.record.key == "mine" }, "query \(query)")
            } catch let error as MemoryError {
                #expect(error.code == .invalidArgument, "query \(query): \(error)")
            }
            _ = await fixture.attack("search_memory", ["query": .string(query)])
        }
        try await fixture.expectVictimUntouched("searches")
    }

    static let hostilePaths = [
        "/memories/..", "/memories/../victim", "/memories/../../etc/passwd", "/memories/a/../../x", "/memories/%2e%2e/x",
        "/memories/%2E%2E%2Fx", "/memories/..%2fx", "/memories/a%2Fb", "/memories/a%5cb", "/memories\\..\\x",
        "/memories/a\u{0}b", "/memories/\u{FF0E}\u{FF0E}/x", "/memories/\u{2024}\u{2024}/x", "/memoriesX/secret.txt",
        "/memories/\u{C0}\u{AE}\u{C0}\u{AE}/x", "memories/secret.txt", "/secret.txt", "//memories/../secret.txt",
    ]

    @Test("memory-tool paths with .., encoded separators, NUL and look-alike dots never leave /memories")
    func memoryPaths() async throws {
        let fixture = try await EscapeFixture()
        for path in Self.hostilePaths {
            _ = await fixture.attack("memory", ["command": "view", "path": .string(path)])
            _ = await fixture.attack("memory", ["command": "create", "path": .string(path + "/f.txt"), "file_text": "x"])
            _ = await fixture.attack("memory", ["command": "create", "path": .string(path), "file_text": "x"])
            _ = await fixture.attack("memory", ["command": "rename", "old_path": "/memories/none", "new_path": .string(path)])
            _ = await fixture.attack("memory", ["command": "delete", "path": .string(path)])
        }
        // Every key the attacker's calls created is a path inside /memories/ (or its own note).
        for record in try await fixture.store.allRecords(in: fixture.attacker) where record.key != "mine" {
            #expect(record.key.hasPrefix("/memories/"), "created \(record.key)")
            #expect(!record.key.utf8.contains(0) && !record.key.split(separator: "/").contains(".."), "created \(record.key)")
        }
        try await fixture.expectVictimUntouched("paths")
    }

    @Test("overlong UTF-8 in raw JSON is rejected by the parser or decoded to U+FFFD, never to a separator")
    func overlongUTF8() async throws {
        // 0xC0 0xAF is an overlong "/", 0xC0 0xAE an overlong "."; 0xE0 0x80 0xAF a three-byte "/".
        for bytes in [[0xC0, 0xAF], [0xC0, 0xAE, 0xC0, 0xAE], [0xE0, 0x80, 0xAF], [0xF0, 0x80, 0x80, 0xAF]] as [[UInt8]] {
            let json = Array("{\"path\": \"/memories/a".utf8) + bytes + Array("b\"}".utf8)
            guard let value = try? JSONValue(parsing: json) else { continue }
            let path = try #require(value["path"]?.stringValue)
            #expect(path.utf8.filter { $0 == UInt8(ascii: "/") }.count == 2, "\(bytes) decoded to \(path)")
            #expect(!path.contains(".."), "\(bytes) decoded to \(path)")
        }
    }

    @Test("limits are enforced before any write: a rejected batch or turn leaves the store as it was")
    func limitsBeforeWrite() async throws {
        let folder = try scratchDirectory("limits")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteMemoryStore(
            path: folder.appendingPathComponent("memory.sqlite").path,
            limits: MemoryLimits(maxValueBytes: 64, maxKeysPerNamespace: 3, maxBytesPerNamespace: 400))
        let namespace = try Namespace("limits")
        try await store.put("a", value: "1", in: namespace)
        let before = try await store.changes(in: namespace, since: 0, limit: 100)
        let oversized: [[MemoryOperation]] = [
            [.put(key: "b", value: "2"), .put(key: "c", value: .string(String(repeating: "x", count: 100)))],
            [.put(key: "b", value: "2"), .put(key: "c", value: "3"), .put(key: "d", value: "4")],
            [.delete(key: "a"), .put(key: "b", value: .string(String(repeating: "y", count: 60))), .put(key: "c", value: .string(String(repeating: "y", count: 60))), .put(key: "d", value: .string(String(repeating: "y", count: 60))), .put(key: "e", value: .string(String(repeating: "y", count: 60)))],
        ]
        for operations in oversized {
            await #expect(throws: MemoryError.self) { try await store.batch(operations, in: namespace) }
            #expect(try await store.allRecords(in: namespace).map(\.key) == ["a"])
            #expect(try await store.changes(in: namespace, since: 0, limit: 100) == before)
        }
        let executor = MemoryToolExecutor(store: store, namespace: namespace)
        let results = await executor.execute((0..<4).map { ToolUse(id: "t\($0)", name: "remember", input: ["key": .string("k\($0)"), "value": "v"]) })
        #expect(results.map { $0.toolResult?.isError } == [false, false, true, true])
        #expect(try await store.allRecords(in: namespace).map(\.key) == ["a", "k0", "k1"])
    }
}

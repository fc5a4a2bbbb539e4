import AgentMemoryJSON
import AgentMemoryCore
import AgentMemoryTools
import Testing

/// Paths: what must start with /memories, what escapes it, what is resolved inside it.
@Suite struct MemoryToolPathTests {
    /// Every command that takes a path, with `path` in the path field(s).
    static func calls(_ path: String) -> [JSONValue] {
        let p = JSONValue.string(path)
        return [
            ["command": "view", "path": p],
            ["command": "create", "path": p, "file_text": "x"],
            ["command": "str_replace", "path": p, "old_str": "a", "new_str": "b"],
            ["command": "insert", "path": p, "insert_line": 0, "insert_text": "x"],
            ["command": "delete", "path": p],
            ["command": "rename", "old_path": p, "new_path": "/memories/renamed"],
            ["command": "rename", "old_path": "/memories/seed.txt", "new_path": p],
        ]
    }

    /// Runs every command on `path`, expecting `message` each time and no change to the store.
    func expectRefused(_ path: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/seed.txt", "a")
        let before = try await memory.records()
        for call in Self.calls(path) {
            #expect(await memory.fail(call, sourceLocation: sourceLocation) == message, sourceLocation: sourceLocation)
        }
        #expect(try await memory.records() == before, sourceLocation: sourceLocation)
    }

    @Test(arguments: ["/etc/passwd", "memories/x", "", "/", "/Memories/x", " /memories/x", "~/memories"])
    func pathsOutsideMemories(path: String) async throws {
        try await expectRefused(path, "Path must start with /memories, got: \(path)")
    }

    @Test(arguments: [
        "/memories/..", "/memories/../x", "/memories/a/../../x", "/memories/./../x", "/memories//../x",
        "/memories/a/b/../../../etc/passwd",
        // percent-encoded, upper and lower case, partial and double encoding
        "/memories/%2e%2e/x", "/memories/%2E%2E/x", "/memories/.%2e/x", "/memories/%2e./x", "/memories/%252e%252e/x",
        "/memories/..%2fx", "/memories/a%2f..%2f..%2fx", "/memories/%2e%2e%5cx", "/memories/a%00b",
        // backslashes
        "/memories\\..\\x", "/memories/..\\x", "/memories/a\\b",
        // siblings of the root
        "/memoriesX/a", "/memories../x", "/memories%2f..%2fx",
    ])
    func escapesAreRefused(path: String) async throws {
        try await expectRefused(path, "Path \(path) would escape /memories directory")
    }

    @Test func controlCharactersAreRefused() async throws {
        try await expectRefused(
            "/memories/a\u{0}b.txt",
            "Path /memories/a\\u{0}b.txt contains a control character (U+0000); memory paths must be printable text")
        try await expectRefused(
            "/memories/a\nb.txt",
            "Path /memories/a\\u{A}b.txt contains a control character (U+000A); memory paths must be printable text")
        try await expectRefused(
            "/memories/../\u{7F}",
            "Path /memories/../\\u{7F} contains a control character (U+007F); memory paths must be printable text")
    }

    @Test func veryLongPathsAreRefused() async throws {
        let long = "/memories/" + String(repeating: "x", count: 502)  // 512 bytes: its marker key would be 513
        try await expectRefused(long, "Path \(long.prefix(64))… is too long: 512 bytes, the limit is 511 bytes; use shorter names")
        let huge = "/memories/" + String(repeating: "a/", count: 100_000)
        try await expectRefused(huge, "Path \(huge.prefix(64))… is too long: 200010 bytes, the limit is 511 bytes; use shorter names")

        let memory = MemoryToolFixture()
        let longest = "/memories/" + String(repeating: "x", count: 501)  // 511 bytes
        await memory.create(longest, "fits")
        #expect(try await memory.text(longest) == "fits")
    }

    @Test func dotSegmentsInsideAreResolved() async throws {
        let memory = MemoryToolFixture()
        #expect(await memory.ok(["command": "create", "path": "/memories/a/../b.txt", "file_text": "b"])
            == "File created successfully at: /memories/a/../b.txt")
        #expect(try await memory.keys() == ["/memories/b.txt"])
        #expect(await memory.ok(["command": "view", "path": "/memories/./x/../b.txt"])
            == "Here's the content of /memories/./x/../b.txt with line numbers:\n     1\tb")
        await memory.create("/memories//dir///c.txt", "c")
        #expect(try await memory.keys() == ["/memories/b.txt", "/memories/dir/", "/memories/dir/c.txt"])
        #expect(await memory.fail(["command": "create", "path": "/memories/dir/./c.txt", "file_text": "again"])
            == "File /memories/dir/./c.txt already exists")
        // A percent sign that hides nothing is an ordinary character.
        await memory.create("/memories/100%25 done.txt", "ok")
        #expect(try await memory.text("/memories/100%25 done.txt") == "ok")
    }

    @Test func theRootItselfIsADirectory() async {
        let memory = MemoryToolFixture()
        for root in ["/memories", "/memories/", "/memories/a/..", "/memories//."] {
            #expect(await memory.ok(["command": "view", "path": .string(root)])
                == "Here're the files and directories up to 2 levels deep in \(root), excluding hidden items:\n4K\t\(root)")
        }
    }
}

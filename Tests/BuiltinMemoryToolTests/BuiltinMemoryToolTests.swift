import AgentMemoryJSON
import AgentMemoryCore
import AgentMemoryTools
import ClaudeMessages
import Testing

/// The commands and their result strings, pinned to the reference implementation's.
@Suite struct BuiltinMemoryToolTests {
    @Test func definitionIsTheBuiltinMemoryTool() {
        #expect(BuiltinMemoryTool.name == "memory")
        #expect(BuiltinMemoryTool.definition.name == "memory")
        #expect(BuiltinMemoryTool.definition.jsonValue.jsonString() == #"{"type":"memory_20250818","name":"memory"}"#)
    }

    // MARK: - create and the record mapping

    @Test func createStoresOneRecordPerFileAndMarkersForParents() async throws {
        let memory = MemoryToolFixture()
        let text = await memory.ok(["command": "create", "path": "/memories/notes/todo.txt", "file_text": "- milk\n"])
        #expect(text == "File created successfully at: /memories/notes/todo.txt")

        let records = try await memory.records()
        #expect(Array(records.keys).sorted() == ["/memories/notes/", "/memories/notes/todo.txt"])
        #expect(records["/memories/notes/todo.txt"]?.value == "- milk\n")
        #expect(records["/memories/notes/todo.txt"]?.version == 1)
        #expect(records["/memories/notes/todo.txt"]?.author == "agent-1")
        #expect(records["/memories/notes/"]?.value == BuiltinMemoryTool.directoryMarkerValue)
        #expect(records["/memories/notes/"]?.value == .object(JSONObject()))
        #expect(records["/memories/notes/"]?.author == "agent-1")
    }

    @Test func createNeverOverwrites() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/a/b.txt", "one")
        #expect(await memory.fail(["command": "create", "path": "/memories/a/b.txt", "file_text": "two"])
            == "File /memories/a/b.txt already exists")
        #expect(await memory.fail(["command": "create", "path": "/memories/a", "file_text": "two"])
            == "File /memories/a already exists")
        #expect(await memory.fail(["command": "create", "path": "/memories", "file_text": "two"])
            == "File /memories already exists")
        let records = try await memory.records()
        #expect(records["/memories/a/b.txt"]?.value == "one")
        #expect(records["/memories/a/b.txt"]?.version == 1)
        #expect(records.count == 2)
    }

    @Test func createUnderAFileIsRefused() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/a.txt", "x")
        #expect(await memory.fail(["command": "create", "path": "/memories/a.txt/b.txt", "file_text": "y"])
            == "Cannot create /memories/a.txt/b.txt: /memories/a.txt is a file, not a directory")
        #expect(try await memory.keys() == ["/memories/a.txt"])
    }

    // MARK: - view

    @Test func viewOfAFileNumbersItsLines() async {
        let memory = MemoryToolFixture()
        await memory.create("/memories/notes.txt", "Hello\nWorld\n")
        #expect(await memory.ok(["command": "view", "path": "/memories/notes.txt"])
            == "Here's the content of /memories/notes.txt with line numbers:\n     1\tHello\n     2\tWorld\n     3\t")
        await memory.create("/memories/empty.txt", "")
        #expect(await memory.ok(["command": "view", "path": "/memories/empty.txt"])
            == "Here's the content of /memories/empty.txt with line numbers:\n     1\t")
        // CR stays in the line; only LF splits.
        await memory.create("/memories/crlf.txt", "a\r\nb")
        #expect(await memory.ok(["command": "view", "path": "/memories/crlf.txt"])
            == "Here's the content of /memories/crlf.txt with line numbers:\n     1\ta\r\n     2\tb")
    }

    @Test func viewOfAMissingPath() async {
        let memory = MemoryToolFixture()
        #expect(await memory.fail(["command": "view", "path": "/memories/nope.txt"])
            == "The path /memories/nope.txt does not exist. Please provide a valid path.")
    }

    @Test func viewRangeEdges() async {
        let memory = MemoryToolFixture()
        await memory.create("/memories/f.txt", "l1\nl2\nl3\nl4\nl5")
        func view(_ start: Int, _ end: Int) async -> String {
            await memory.ok(["command": "view", "path": "/memories/f.txt", "view_range": [.int(start), .int(end)]])
        }
        let header = "Here's the content of /memories/f.txt with line numbers:\n"
        #expect(await view(2, 3) == header + "     2\tl2\n     3\tl3")
        #expect(await view(0, 2) == header + "     1\tl1\n     2\tl2")  // start clamped to 1
        #expect(await view(-7, 1) == header + "     1\tl1")
        #expect(await view(4, -1) == header + "     4\tl4\n     5\tl5")  // -1: to the last line
        #expect(await view(1, -1) == header + "     1\tl1\n     2\tl2\n     3\tl3\n     4\tl4\n     5\tl5")
        #expect(await view(5, 100) == header + "     5\tl5")  // end clamped to the last line
        #expect(await view(3, 3) == header + "     3\tl3")
        #expect(await view(9, -1) == header)  // past the end: nothing, as the reference
        #expect(await view(Int.min, Int.max) == header + "     1\tl1\n     2\tl2\n     3\tl3\n     4\tl4\n     5\tl5")
        // null means no range
        #expect(await memory.ok(["command": "view", "path": "/memories/f.txt", "view_range": nil])
            == header + "     1\tl1\n     2\tl2\n     3\tl3\n     4\tl4\n     5\tl5")
    }

    @Test func viewRangeMustBeTwoIntegers() async {
        let memory = MemoryToolFixture()
        await memory.create("/memories/f.txt", "x")
        for range: JSONValue in [[1], [1, 2, 3], ["1", 2], 3, [1.5, 2]] {
            #expect(await memory.fail(["command": "view", "path": "/memories/f.txt", "view_range": range])
                == "Parameter `view_range` of command `view` must be an array of two integers [start, end], got \(range.jsonString())")
        }
        #expect(await memory.fail(["command": "view", "path": "/memories/f.txt", "view_range": [1, -2]])
            == "Invalid `view_range` parameter: [1, -2]. The end must be a line number, or -1 for the last line.")
    }

    @Test func viewOfNestedDirectoriesWithSizes() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/notes.txt", String(repeating: "n", count: 28) + "\n")  // 29 bytes
        await memory.create("/memories/empty.txt", "")
        await memory.create("/memories/docs/big.txt", String(repeating: "b", count: 1025))
        await memory.create("/memories/docs/half.txt", String(repeating: "h", count: 1536))
        await memory.create("/memories/docs/two.txt", String(repeating: "é", count: 1024))  // 2048 UTF-8 bytes
        await memory.create("/memories/docs/deep/deeper/x.txt", "too deep")
        await memory.create("/memories/docs/.env", "hidden file")
        await memory.create("/memories/.hidden/secret.txt", "hidden directory")
        await memory.create("/memories/emptydir/gone.txt", "x")
        await memory.ok(["command": "delete", "path": "/memories/emptydir/gone.txt"])

        #expect(await memory.ok(["command": "view", "path": "/memories"]) == """
            Here're the files and directories up to 2 levels deep in /memories, excluding hidden items:
            4K\t/memories
            4K\t/memories/docs/
            1.0K\t/memories/docs/big.txt
            4K\t/memories/docs/deep/
            1.5K\t/memories/docs/half.txt
            2K\t/memories/docs/two.txt
            0B\t/memories/empty.txt
            4K\t/memories/emptydir/
            29B\t/memories/notes.txt
            """)
        #expect(await memory.ok(["command": "view", "path": "/memories/docs"]) == """
            Here're the files and directories up to 2 levels deep in /memories/docs, excluding hidden items:
            4K\t/memories/docs
            1.0K\t/memories/docs/big.txt
            4K\t/memories/docs/deep/
            4K\t/memories/docs/deep/deeper/
            1.5K\t/memories/docs/half.txt
            2K\t/memories/docs/two.txt
            """)
        // The path is echoed exactly as sent, as the reference does.
        #expect(await memory.ok(["command": "view", "path": "/memories/docs/deep/"]) == """
            Here're the files and directories up to 2 levels deep in /memories/docs/deep/, excluding hidden items:
            4K\t/memories/docs/deep/
            4K\t/memories/docs/deep//deeper/
            8B\t/memories/docs/deep//deeper/x.txt
            """)
        #expect(await memory.ok(["command": "view", "path": "/memories/emptydir"]) == """
            Here're the files and directories up to 2 levels deep in /memories/emptydir, excluding hidden items:
            4K\t/memories/emptydir
            """)
    }

    @Test func viewOfAnEmptyRoot() async {
        let memory = MemoryToolFixture()
        #expect(await memory.ok(["command": "view", "path": "/memories"])
            == "Here're the files and directories up to 2 levels deep in /memories, excluding hidden items:\n4K\t/memories")
    }

    @Test func fileLimitOfMoreThan999999Lines() async {
        let memory = MemoryToolFixture(limits: MemoryLimits(maxValueBytes: 4_000_000))  // "\n" is 2 bytes of JSON
        await memory.create("/memories/long.txt", String(repeating: "\n", count: 999_999))  // 1,000,000 lines
        #expect(await memory.fail(["command": "view", "path": "/memories/long.txt"])
            == "File /memories/long.txt exceeds maximum line limit of 999,999 lines.")
        await memory.create("/memories/ok.txt", String(repeating: "\n", count: 999_998))
        #expect(await memory.ok(["command": "view", "path": "/memories/ok.txt", "view_range": [999_999, -1]])
            == "Here's the content of /memories/ok.txt with line numbers:\n999999\t")
    }

    // MARK: - str_replace

    @Test func strReplaceShowsASnippetAroundTheChange() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/f.txt", "one\ntwo\nthree\nfour\nfive\nsix\nseven\n")
        #expect(await memory.ok(["command": "str_replace", "path": "/memories/f.txt", "old_str": "four", "new_str": "FOUR"]) == """
            The memory file has been edited. Here is the snippet showing the change (with line numbers):
                 2\ttwo
                 3\tthree
                 4\tFOUR
                 5\tfive
                 6\tsix
            """)
        #expect(try await memory.text("/memories/f.txt") == "one\ntwo\nthree\nFOUR\nfive\nsix\nseven\n")
        #expect(try await memory.records()["/memories/f.txt"]?.version == 2)

        // At the top edge, and with a multi-line replacement: lines from the new file.
        #expect(await memory.ok(["command": "str_replace", "path": "/memories/f.txt", "old_str": "one", "new_str": "1\n1b"]) == """
            The memory file has been edited. Here is the snippet showing the change (with line numbers):
                 1\t1
                 2\t1b
                 3\ttwo
            """)
        // At the bottom edge: the trailing newline's empty last line is shown.
        #expect(await memory.ok(["command": "str_replace", "path": "/memories/f.txt", "old_str": "seven\n", "new_str": "7\n"]) == """
            The memory file has been edited. Here is the snippet showing the change (with line numbers):
                 6\tfive
                 7\tsix
                 8\t7
                 9\t
            """)
    }

    @Test func strReplaceWithoutAMatch() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/f.txt", "hello")
        #expect(await memory.fail(["command": "str_replace", "path": "/memories/f.txt", "old_str": "Hello", "new_str": "x"])
            == "No replacement was performed, old_str `Hello` did not appear verbatim in /memories/f.txt.")
        // Compared code point for code point: NFD é does not match NFC é.
        await memory.create("/memories/e.txt", "caf\u{E9}")
        #expect(await memory.fail(["command": "str_replace", "path": "/memories/e.txt", "old_str": "cafe\u{301}", "new_str": "x"])
            == "No replacement was performed, old_str `cafe\u{301}` did not appear verbatim in /memories/e.txt.")
        #expect(try await memory.records()["/memories/f.txt"]?.version == 1)
    }

    @Test func strReplaceWithSeveralMatchesListsTheirLines() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/f.txt", "foo\nbar\nfoo\n")
        #expect(await memory.fail(["command": "str_replace", "path": "/memories/f.txt", "old_str": "foo", "new_str": "x"])
            == "No replacement was performed. Multiple occurrences of old_str `foo` in lines: 1, 3. Please ensure it is unique")
        #expect(try await memory.text("/memories/f.txt") == "foo\nbar\nfoo\n")
        #expect(try await memory.records()["/memories/f.txt"]?.version == 1)
    }

    @Test func overlappingMatchesCountWithoutOverlap() async throws {
        let memory = MemoryToolFixture()
        // "aa" occurs once in "aaa" (non-overlapping), so the replacement happens.
        await memory.create("/memories/a.txt", "aaa")
        #expect(await memory.ok(["command": "str_replace", "path": "/memories/a.txt", "old_str": "aa", "new_str": "b"])
            == "The memory file has been edited. Here is the snippet showing the change (with line numbers):\n     1\tba")
        #expect(try await memory.text("/memories/a.txt") == "ba")
        // Twice in "aaaa" (and in "x\naaa\naa": lines 2 and 3), each match listed once.
        await memory.create("/memories/b.txt", "aaaa")
        #expect(await memory.fail(["command": "str_replace", "path": "/memories/b.txt", "old_str": "aa", "new_str": "b"])
            == "No replacement was performed. Multiple occurrences of old_str `aa` in lines: 1, 1. Please ensure it is unique")
        await memory.create("/memories/c.txt", "x\naaa\naa")
        #expect(await memory.fail(["command": "str_replace", "path": "/memories/c.txt", "old_str": "aa", "new_str": "b"])
            == "No replacement was performed. Multiple occurrences of old_str `aa` in lines: 2, 3. Please ensure it is unique")
    }

    @Test func strReplaceOnADirectoryOrAMissingPath() async {
        let memory = MemoryToolFixture()
        await memory.create("/memories/dir/f.txt", "x")
        #expect(await memory.fail(["command": "str_replace", "path": "/memories/dir", "old_str": "x", "new_str": "y"])
            == "The path /memories/dir is not a file.")
        #expect(await memory.fail(["command": "str_replace", "path": "/memories", "old_str": "x", "new_str": "y"])
            == "The path /memories is not a file.")
        #expect(await memory.fail(["command": "str_replace", "path": "/memories/none.txt", "old_str": "x", "new_str": "y"])
            == "The path /memories/none.txt does not exist. Please provide a valid path.")
        #expect(await memory.fail(["command": "str_replace", "path": "/memories/dir/f.txt", "old_str": "", "new_str": "y"])
            == "Parameter `old_str` of command `str_replace` must not be empty")
    }

    // MARK: - insert

    @Test func insertAtTheStartAndTheEnd() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/f.txt", "a\nb\n")
        #expect(await memory.ok(["command": "insert", "path": "/memories/f.txt", "insert_line": 0, "insert_text": "first"])
            == "The file /memories/f.txt has been edited.")
        #expect(try await memory.text("/memories/f.txt") == "first\na\nb\n")
        // At the end (3 lines; the trailing empty one is not counted); trailing newlines removed.
        await memory.ok(["command": "insert", "path": "/memories/f.txt", "insert_line": 3, "insert_text": "last\n\n"])
        #expect(try await memory.text("/memories/f.txt") == "first\na\nb\nlast\n")
        await memory.ok(["command": "insert", "path": "/memories/f.txt", "insert_line": 2, "insert_text": "mid\nmid2"])
        #expect(try await memory.text("/memories/f.txt") == "first\na\nmid\nmid2\nb\nlast\n")
        #expect(try await memory.records()["/memories/f.txt"]?.version == 4)
    }

    @Test func insertAddsTheFinalNewline() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/f.txt", "a\nb")
        await memory.ok(["command": "insert", "path": "/memories/f.txt", "insert_line": 2, "insert_text": "c"])
        #expect(try await memory.text("/memories/f.txt") == "a\nb\nc\n")
        await memory.create("/memories/empty.txt", "")
        await memory.ok(["command": "insert", "path": "/memories/empty.txt", "insert_line": 0, "insert_text": "x"])
        #expect(try await memory.text("/memories/empty.txt") == "x\n")
    }

    @Test func insertLineOutOfRange() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/f.txt", "a\nb\n")
        for line in [3, -1, Int.max] {
            #expect(await memory.fail(["command": "insert", "path": "/memories/f.txt", "insert_line": .int(line), "insert_text": "x"])
                == "Invalid `insert_line` parameter: \(line). It should be within the range [0, 2].")
        }
        #expect(await memory.fail(["command": "insert", "path": "/memories/nope.txt", "insert_line": 0, "insert_text": "x"])
            == "The path /memories/nope.txt does not exist. Please provide a valid path.")
        #expect(await memory.fail(["command": "insert", "path": "/memories", "insert_line": 0, "insert_text": "x"])
            == "The path /memories is not a file.")
        #expect(try await memory.text("/memories/f.txt") == "a\nb\n")
    }

    // MARK: - delete

    @Test func deleteAFileKeepsItsDirectory() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/a/f.txt", "x")
        #expect(await memory.ok(["command": "delete", "path": "/memories/a/f.txt"]) == "Successfully deleted /memories/a/f.txt")
        #expect(try await memory.keys() == ["/memories/a/"])
        #expect(await memory.fail(["command": "delete", "path": "/memories/a/f.txt"]) == "The path /memories/a/f.txt does not exist")
    }

    @Test func deleteADirectoryRecursively() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/a/f.txt", "x")
        await memory.create("/memories/a/b/c/g.txt", "y")
        await memory.create("/memories/a.txt", "sibling file")
        await memory.create("/memories/ab/h.txt", "sibling directory")
        #expect(await memory.ok(["command": "delete", "path": "/memories/a"]) == "Successfully deleted /memories/a")
        #expect(try await memory.keys() == ["/memories/a.txt", "/memories/ab/", "/memories/ab/h.txt"])
        #expect(await memory.fail(["command": "view", "path": "/memories/a"])
            == "The path /memories/a does not exist. Please provide a valid path.")
    }

    @Test func deleteOfTheRootOrAMissingPath() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/f.txt", "x")
        for root in ["/memories", "/memories/", "/memories/a/..", "/memories/."] {
            #expect(await memory.fail(["command": "delete", "path": .string(root)]) == "Cannot delete the /memories directory itself")
        }
        #expect(await memory.fail(["command": "delete", "path": "/memories/nope"]) == "The path /memories/nope does not exist")
        #expect(try await memory.keys() == ["/memories/f.txt"])
    }

    // MARK: - rename

    @Test func renameAFile() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/old/f.txt", "content")
        #expect(await memory.ok(["command": "rename", "old_path": "/memories/old/f.txt", "new_path": "/memories/new/dir/g.txt"])
            == "Successfully renamed /memories/old/f.txt to /memories/new/dir/g.txt")
        let records = try await memory.records()
        #expect(Array(records.keys).sorted() == ["/memories/new/", "/memories/new/dir/", "/memories/new/dir/g.txt", "/memories/old/"])
        #expect(records["/memories/new/dir/g.txt"]?.value == "content")
        #expect(records["/memories/new/dir/g.txt"]?.author == "agent-1")
    }

    @Test func renameADirectoryWithFiles() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/proj/a.txt", "A")
        await memory.create("/memories/proj/sub/b.txt", "B")
        await memory.create("/memories/proj/sub/deep/c.txt", "C")
        await memory.create("/memories/project.txt", "not inside")
        #expect(await memory.ok(["command": "rename", "old_path": "/memories/proj", "new_path": "/memories/archive/2025"])
            == "Successfully renamed /memories/proj to /memories/archive/2025")
        #expect(try await memory.keys() == [
            "/memories/archive/", "/memories/archive/2025/", "/memories/archive/2025/a.txt",
            "/memories/archive/2025/sub/", "/memories/archive/2025/sub/b.txt",
            "/memories/archive/2025/sub/deep/", "/memories/archive/2025/sub/deep/c.txt",
            "/memories/project.txt",
        ])
        #expect(try await memory.text("/memories/archive/2025/sub/deep/c.txt") == "C")
        #expect(await memory.ok(["command": "view", "path": "/memories/archive/2025/sub/deep/c.txt"])
            == "Here's the content of /memories/archive/2025/sub/deep/c.txt with line numbers:\n     1\tC")
    }

    @Test func renameErrorsChangeNothing() async throws {
        let memory = MemoryToolFixture()
        await memory.create("/memories/a/f.txt", "x")
        await memory.create("/memories/b.txt", "y")
        let before = try await memory.records()
        #expect(await memory.fail(["command": "rename", "old_path": "/memories/a", "new_path": "/memories/b.txt"])
            == "The destination /memories/b.txt already exists")
        #expect(await memory.fail(["command": "rename", "old_path": "/memories/b.txt", "new_path": "/memories/a"])
            == "The destination /memories/a already exists")
        #expect(await memory.fail(["command": "rename", "old_path": "/memories/nope", "new_path": "/memories/c"])
            == "The path /memories/nope does not exist")
        #expect(await memory.fail(["command": "rename", "old_path": "/memories", "new_path": "/memories/c"])
            == "Cannot rename the /memories directory itself")
        #expect(await memory.fail(["command": "rename", "old_path": "/memories/a", "new_path": "/memories/a/inner"])
            == "Cannot rename /memories/a to /memories/a/inner: a directory cannot be moved inside itself")
        #expect(await memory.fail(["command": "rename", "old_path": "/memories/a/f.txt", "new_path": "/memories/b.txt/f.txt"])
            == "Cannot rename /memories/a/f.txt to /memories/b.txt/f.txt: /memories/b.txt is a file, not a directory")
        #expect(try await memory.records() == before)
    }

    // MARK: - Input mistakes

    @Test func unknownCommandAndMalformedInput() async {
        let memory = MemoryToolFixture()
        #expect(await memory.fail(["command": "move", "path": "/memories"])
            == "Unknown command: move. Valid commands are: view, create, str_replace, insert, delete, rename")
        #expect(await memory.fail(["path": "/memories"])
            == "Missing required parameter `command`: it must be one of view, create, str_replace, insert, delete, rename")
        #expect(await memory.fail(["command": 7])
            == "Parameter `command` must be a string (one of view, create, str_replace, insert, delete, rename), got integer")
        #expect(await memory.fail("view")
            == "Invalid input for the memory tool: expected a JSON object with a `command`, got string")
    }

    @Test func missingAndMistypedFields() async throws {
        let memory = MemoryToolFixture()
        #expect(await memory.fail(["command": "view"]) == "Missing required parameter `path` for command `view`")
        #expect(await memory.fail(["command": "create", "path": "/memories/f.txt"])
            == "Missing required parameter `file_text` for command `create`")
        #expect(await memory.fail(["command": "create", "path": "/memories/f.txt", "file_text": nil])
            == "Missing required parameter `file_text` for command `create`")
        #expect(await memory.fail(["command": "create", "path": 3, "file_text": "x"])
            == "Parameter `path` of command `create` must be a string, got integer")
        #expect(await memory.fail(["command": "create", "path": "/memories/f.txt", "file_text": ["x"]])
            == "Parameter `file_text` of command `create` must be a string, got array")
        #expect(await memory.fail(["command": "str_replace", "path": "/memories/f.txt", "old_str": "x"])
            == "Missing required parameter `new_str` for command `str_replace`")
        #expect(await memory.fail(["command": "insert", "path": "/memories/f.txt", "insert_line": "1", "insert_text": "x"])
            == "Parameter `insert_line` of command `insert` must be an integer, got string")
        #expect(await memory.fail(["command": "insert", "path": "/memories/f.txt", "insert_line": 1.5, "insert_text": "x"])
            == "Parameter `insert_line` of command `insert` must be an integer, got number")
        #expect(await memory.fail(["command": "insert", "path": "/memories/f.txt", "insert_line": 1e300, "insert_text": "x"])
            == "Parameter `insert_line` of command `insert` must be an integer, got number")
        #expect(await memory.fail(["command": "delete"]) == "Missing required parameter `path` for command `delete`")
        #expect(await memory.fail(["command": "rename", "old_path": "/memories/a"])
            == "Missing required parameter `new_path` for command `rename`")
        #expect(try await memory.keys() == [])
    }
}

import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing

@Suite("agent-memory CLI", .serialized)
struct CLITests {
    @Test func rememberInOneProcessRecallInTheNext() async throws {
        let cli = CommandRunner()
        let stored = try await cli.run(["remember", "user.name", "Ada Lovelace"])
        #expect(stored.status == 0)
        #expect(stored.stdout == "Remembered \"user.name\" (version 1).\n")
        let recalled = try await cli.run(["recall", "user.name"])
        #expect(recalled.status == 0)
        #expect(recalled.stdout == "Ada Lovelace\n")
        #expect(FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("memory.sqlite").path))
        let updated = try await cli.run(["--agent", "writer-2", "remember", "user.name", "Ada"])
        #expect(updated.stdout == "Updated \"user.name\" (version 2).\n")
        let json = try await cli.run(["recall", "user.name", "--json"])
        let record = try JSONValue(parsing: json.stdout)
        #expect(record.objectValue?.keys == ["key", "value", "version", "createdAt", "updatedAt", "author", "expiresAt"])
        #expect(record["value"] == "Ada")
        #expect(record["version"] == 2)
        #expect(record["author"] == "writer-2")
        #expect(record["expiresAt"] == .null)
    }

    /// The README's promise: once a CLI command has ended, the database file alone is the whole
    /// store (no `-wal` file beside it), after a write and after a search.
    @Test func aCommandLeavesNoWriteAheadLogBehind() async throws {
        let cli = CommandRunner()
        let database = cli.home.appendingPathComponent("memory.sqlite").path
        #expect(try await cli.run(["remember", "notes/lunch", "Alice prefers vegetarian lunch"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: database + "-wal"), "after remember")
        let found = try await cli.run(["search", "vegetarian"])
        #expect(found.stdout == "notes/lunch\tAlice prefers [vegetarian] lunch\n")
        #expect(!FileManager.default.fileExists(atPath: database + "-wal"), "after search")
        #expect(FileManager.default.fileExists(atPath: database))
        // The README: a command that only reads writes nothing to the file (the search above
        // brought the index up to date; these find nothing pending).
        let before = try Data(contentsOf: URL(fileURLWithPath: database))
        #expect(try await cli.run(["recall", "notes/lunch"]).stdout == "Alice prefers vegetarian lunch\n")
        #expect(try await cli.run(["search", "lunch"]).status == 0)
        #expect(try await cli.run(["list"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: database)) == before)
        #expect(!FileManager.default.fileExists(atPath: database + "-wal"), "after the reads")
    }

    /// `--version` prints the release the MCP server also names, and opens no store.
    @Test func versionPrintsTheReleaseAndOpensNoStore() async throws {
        let cli = CommandRunner()
        let version = try await cli.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout == "0.1.0\n")
        #expect(version.stderr == "")
        #expect(!FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("memory.sqlite").path))
    }

    /// Each option's help states its default once (ArgumentParser adds "(default: N)" itself).
    @Test func helpStatesEachDefaultOnce() async throws {
        let cli = CommandRunner()
        for (command, line) in [
            ("search", "How many matches. (default: 10)"), ("list", "How many keys to print. (default: 100)"),
            ("history", "At most this many of the newest entries. (default: 100)"),
        ] {
            let help = try await cli.run([command, "--help"])
            #expect(help.status == 0)
            let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(text.contains(line), "\(command)")
            #expect(!text.contains("(default 1"), "\(command)")
        }
        let changes = try await cli.run(["changes", "--help"])
        #expect(changes.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            .contains("Only changes after this sequence number (0: all that are retained). (default: 0)"))
        // The import threshold is grouped by hand, not by the locale-aware formatter.
        let importHelp = try await cli.run(["import", "--help"])
        #expect(importHelp.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            .contains("an import of 10,000 records or more that makes up at least half of the store"))
    }

    @Test func missingKeysExitWithStatusOne() async throws {
        let cli = CommandRunner()
        let missing = try await cli.run(["recall", "nothing"])
        #expect(missing.status == 1)
        #expect(missing.stdout == "")
        #expect(missing.stderr == "error: No memory is stored under \"nothing\" in namespace \"default\"\n")
        let forget = try await cli.run(["forget", "nothing"])
        #expect(forget.status == 1)
        #expect(forget.stderr == "error: No memory is stored under \"nothing\" in namespace \"default\"; nothing was forgotten\n")
    }

    @Test func aMissingKeyNamesTheClosestExistingKeys() async throws {
        let cli = CommandRunner()
        try await cli.run(["remember", "user.name", "Ada"])
        try await cli.run(["remember", "user.email", "ada@example.com"])
        let recall = try await cli.run(["recall", "user.nmae"])
        #expect(recall.status == 1)
        #expect(recall.stdout == "")
        #expect(recall.stderr == "error: No memory is stored under \"user.nmae\" in namespace \"default\". Closest existing keys: \"user.name\", \"user.email\"\n")
        let forget = try await cli.run(["forget", "user.nmae"])
        #expect(forget.status == 1)
        #expect(forget.stderr == "error: No memory is stored under \"user.nmae\" in namespace \"default\"; nothing was forgotten. Closest existing keys: \"user.name\", \"user.email\"\n")
        // Nothing similar: the plain message.
        let far = try await cli.run(["recall", "qqqqqqqqqqqq"])
        #expect(far.stderr == "error: No memory is stored under \"qqqqqqqqqqqq\" in namespace \"default\"\n")
        #expect(try await cli.run(["recall", "user.name"]).stdout == "Ada\n")
    }

    @Test func namespacesAndStoresComeFromOptionsOrEnvironment() async throws {
        let cli = CommandRunner()
        let path = cli.home.appendingPathComponent("custom/team.sqlite").path
        try await cli.run(["--store", "sqlite:\(path)", "--namespace", "crew", "remember", "k", "from options"])
        try await cli.run(["remember", "k", "from environment"], extraEnvironment: ["AGENT_MEMORY_STORE": "sqlite:\(path)", "AGENT_MEMORY_NAMESPACE": "other"])
        #expect(try await cli.run(["recall", "k", "--store", "sqlite:\(path)", "--namespace", "crew"]).stdout == "from options\n")
        // The usage line's order, and a namespace on both sides (the one after the subcommand wins).
        #expect(try await cli.run(["--store", "sqlite:\(path)", "--namespace", "other", "recall", "k", "--namespace", "crew"]).stdout
            == "from options\n")
        #expect(try await cli.run(["recall", "k"], extraEnvironment: ["AGENT_MEMORY_STORE": "sqlite:\(path)", "AGENT_MEMORY_NAMESPACE": "other"]).stdout == "from environment\n")
        #expect(try await cli.run(["namespaces", "--store", "sqlite:\(path)"]).stdout == "crew\t1\nother\t1\n")
        // The default file was never touched.
        #expect(!FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("memory.sqlite").path))
        // memory: lives for one process only.
        try await cli.run(["--store", "memory:", "remember", "k", "v"])
        #expect(try await cli.run(["--store", "memory:", "recall", "k"]).status == 1)
    }

    @Test(arguments: [
        (["--store", "ftp://example", "list"], "error: Invalid store \"ftp://example\": unknown scheme; use sqlite:PATH (an SQLite file), postgres://USER[:PASSWORD]@HOST:PORT/DB (a PostgreSQL database) or memory: (in this process only) (from --store)\n"),
        (["--store", "sqlite:", "list"], "error: Invalid store \"sqlite:\": sqlite: needs a file path, e.g. sqlite:./memory.sqlite (from --store)\n"),
        (["--namespace", "no spaces", "list"], "error: Invalid namespace \"no spaces\": a namespace is 1 to 128 characters from A-Z a-z 0-9 _ . : - and starts with a letter or digit\n"),
        (["remember", "k", "v", "--ttl", "0"], "error: --ttl must be a whole number of seconds >= 1, got 0\n"),
        (["remember", "k", "{bad", "--json"], "error: VALUE is not valid JSON (Expected a string key at byte 1); drop --json to store it as a string\n"),
        (["remember", "", "v"], "error: Invalid key: a key must not be empty (1 to 512 UTF-8 bytes)\n"),
        (["--agent", "bell\u{7}", "remember", "k", "v"], "error: Invalid agent id: an agent id must not contain control characters (found U+0007) (from --agent)\n"),
        (["--agent", "two\nlines", "mcp"], "error: Invalid agent id: an agent id must not contain control characters (found U+000A) (from --agent)\n"),
        // exec's and recall's quick command-line path (PlainCommandLine) reports the same way.
        (["recall", "k", "--agent", "bell\u{7}"], "error: Invalid agent id: an agent id must not contain control characters (found U+0007) (from --agent)\n"),
        (["recall", "--namespace=no spaces", "k"], "error: Invalid namespace \"no spaces\": a namespace is 1 to 128 characters from A-Z a-z 0-9 _ . : - and starts with a letter or digit\n"),
        (["exec", "--tools", "recall,nope"], "error: Unknown tool \"nope\" in the tool list; valid names are all, default, remember, recall, list_memory, forget, search_memory, memory (from --tools)\n"),
    ])
    func badOptionsAreClearErrorsWithStatusTwo(arguments: [String], message: String) async throws {
        let cli = CommandRunner()
        let result = try await cli.run(arguments)
        #expect(result.status == 2)
        #expect(result.stderr == message)
        #expect(result.stdout == "")
        // Nothing was opened or created: no store file in the default place.
        #expect(!FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("memory.sqlite").path))
    }

    @Test func listSearchForgetAndTTL() async throws {
        let cli = CommandRunner()
        for (key, value) in [("b.two", "second"), ("a.one", "first note about rockets"), ("b.one", "line\nbreak")] {
            try await cli.run(["remember", key, value])
        }
        try await cli.run(["remember", "temp", "short lived", "--ttl", "3600"])
        #expect(try await cli.run(["list"]).stdout == "a.one\tfirst note about rockets\nb.one\tline break\nb.two\tsecond\ntemp\tshort lived\n")
        #expect(try await cli.run(["list", "--prefix", "b."]).stdout == "b.one\tline break\nb.two\tsecond\n")
        let page = try await cli.run(["list", "--limit", "2"])
        #expect(page.stdout == "a.one\tfirst note about rockets\nb.one\tline break\n")
        let cursor = try #require(page.stderr.split(separator: " ").last).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await cli.run(["list", "--limit", "2", "--cursor", cursor]).stdout == "b.two\tsecond\ntemp\tshort lived\n")
        let json = try JSONValue(parsing: try await cli.run(["list", "--json", "--limit", "1"]).stdout)
        #expect(json["records"]?.arrayValue?.first?["key"] == "a.one")
        #expect(json["nextCursor"]?.stringValue != nil)
        #expect(try await cli.run(["search", "rockets"]).stdout == "a.one\tfirst note about [rockets]\n")
        #expect(try await cli.run(["forget", "a.one"]).stdout == "Forgot \"a.one\".\n")
        #expect(try await cli.run(["recall", "temp", "--json"]).stdout.contains("\"expiresAt\":\"20"))
    }

    @Test func listHidesTheLibrarysReservedKeysUnlessAll() async throws {
        let cli = CommandRunner()
        try await cli.run(["remember", "_agent_memory/session/s1/meta", "{}"])
        try await cli.run(["remember", "note", "kept"])
        #expect(try await cli.run(["list"]).stdout == "note\tkept\n")
        #expect(try await cli.run(["list", "--all"]).stdout == "_agent_memory/session/s1/meta\t{}\nnote\tkept\n")
    }

    @Test func exportThenImportRoundTrips() async throws {
        let cli = CommandRunner()
        try await cli.run(["--agent", "exporter", "remember", "doc", #"{"a":[1,2.5,"x"]}"#, "--json"])
        try await cli.run(["remember", "note", "héllo\nworld"])
        let exported = try await cli.run(["export"])
        #expect(exported.status == 0)
        let lines = exported.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix(#"{"key":"doc","value":{"a":[1,2.5,"x"]},"version":1,"createdAt":""#))
        #expect(lines[0].hasSuffix(#""author":"exporter","expiresAt":null}"#))
        let imported = try await cli.run(["--namespace", "copy", "import"], stdin: exported.stdout)
        #expect(imported.stdout == "Imported 2 records into \"copy\".\n")
        #expect(try await cli.run(["--namespace", "copy", "recall", "doc"]).stdout == #"{"a":[1,2.5,"x"]}"# + "\n")
        #expect(try await cli.run(["--namespace", "copy", "recall", "note"]).stdout == "héllo\nworld\n")
        #expect(try await cli.run(["--namespace", "copy", "recall", "doc", "--json"]).stdout.contains(#""author":"exporter""#))
    }

    /// An import of 10,000 records or more that makes up at least half of the store merges the
    /// SQLite search index into one segment afterwards and says so; a small import into that
    /// store does not, nor does one of 10,000 that is less than half of it; searches answer the
    /// same either way.
    @Test func aLargeImportMergesTheSearchIndex() async throws {
        let cli = CommandRunner()
        // Separate processes, each its own catch-up: the index starts in several segments.
        for index in 0..<6 {
            #expect(try await cli.run(["remember", "early/\(index)", "an early lunch note \(index)"]).status == 0)
        }
        let large = (0..<12_000).map { #"{"key":"n/\#($0)","value":"note \#($0) about the budget review"}"# }.joined(separator: "\n")
        let imported = try await cli.run(["import"], stdin: large)
        #expect(imported.status == 0)
        let lines = imported.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "Imported 12000 records into \"default\".")
        #expect(lines.count == 2)
        let merged = try #require(lines.last?.wholeMatch(of: /Merged the search index \((\d+) segments into 1\)\./))
        #expect(try #require(Int(merged.1)) > 1)
        let small = (0..<100).map { #"{"key":"m/\#($0)","value":"lunch"}"# }.joined(separator: "\n")
        #expect(try await cli.run(["import"], stdin: small).stdout == "Imported 100 records into \"default\".\n")
        // 10,000 records, but less than half of the 22,106 the store then holds: no merge.
        let second = (0..<10_000).map { #"{"key":"s/\#($0)","value":"second batch note \#($0)"}"# }.joined(separator: "\n")
        #expect(try await cli.run(["import"], stdin: second).stdout == "Imported 10000 records into \"default\".\n")
        let found = try await cli.run(["search", "early lunch", "--limit", "3"])
        #expect(found.status == 0)
        #expect(found.stdout.contains("early/"))
    }

    @Test func optimizeMergesTheSearchIndexOfAStoreWrittenByShortCommands() async throws {
        let cli = CommandRunner()
        #expect(try await cli.run(["optimize"]).stdout == "The search index is empty: nothing to merge.\n")
        // Separate processes, each remember indexed by the search after it (a close leaves a few
        // rows to the next search): the index in several segments.
        for index in 0..<6 {
            #expect(try await cli.run(["remember", "note/\(index)", "a lunch note \(index)"]).status == 0)
            #expect(try await cli.run(["search", "lunch", "--limit", "1"]).status == 0)
        }
        let before = try await cli.run(["search", "lunch", "--limit", "10"])
        let merged = try await cli.run(["optimize"])
        #expect(merged.status == 0)
        let segments = try #require(merged.stdout.wholeMatch(of: /Merged the search index \((\d+) segments into 1\)\.\n/))
        #expect(try #require(Int(segments.1)) > 1)
        #expect(try await cli.run(["optimize"]).stdout == "The search index is already one segment.\n")
        #expect(try await cli.run(["search", "lunch", "--limit", "10"]).stdout == before.stdout)
        let memory = try await cli.run(["optimize", "--store", "memory:"])
        #expect(memory.status == 0)
        #expect(memory.stdout == "Nothing to merge: only an SQLite store keeps its search index in segments.\n")
    }

    @Test func importReportsEveryBadLineAndImportsNothing() async throws {
        let cli = CommandRunner()
        let input = """
            {"key":"good","value":1}
            {"key":"bad","value":
            {"value":"no key"}

            {"key":"","value":1}
            {"key":"also-good","value":"x"}
            """
        let result = try await cli.run(["import"], stdin: input)
        #expect(result.status == 2)
        #expect(result.stderr == """
            error: nothing was imported; fix these lines:
            line 2: not valid JSON: Unexpected end of input at byte 21
            line 3: field "key" must be a string
            line 5: Invalid key: a key must not be empty (1 to 512 UTF-8 bytes)

            """)
        #expect(try await cli.run(["list"]).stdout == "")
    }

    @Test func execRunsEveryToolUseInOrder() async throws {
        let cli = CommandRunner()
        let response = try String(contentsOf: CommandRunner.packageRoot.appendingPathComponent("Examples/claude-response.json"), encoding: .utf8)
        let result = try await cli.run(["exec"], stdin: response)
        #expect(result.status == 0)
        #expect(result.stdout == """
            {"role":"user","content":[\
            {"type":"tool_result","tool_use_id":"toolu_01","content":"Remembered \\"user.preferences.editor\\" (version 1)."},\
            {"type":"tool_result","tool_use_id":"toolu_02","content":"Vim, with 4-space indentation"},\
            {"type":"tool_result","tool_use_id":"toolu_03","content":"user.preferences.editor: Vim, with 4-space indentation"}]}

            """)
        // `--pretty` indents the same message (the compact output is written another way).
        let pretty = try await cli.run(["exec", "--pretty", "--namespace", "pretty"], stdin: response)
        #expect(pretty.status == 0)
        #expect(pretty.stdout == """
            {
              "role": "user",
              "content": [
                {
                  "type": "tool_result",
                  "tool_use_id": "toolu_01",
                  "content": "Remembered \\"user.preferences.editor\\" (version 1)."
                },
                {
                  "type": "tool_result",
                  "tool_use_id": "toolu_02",
                  "content": "Vim, with 4-space indentation"
                },
                {
                  "type": "tool_result",
                  "tool_use_id": "toolu_03",
                  "content": "user.preferences.editor: Vim, with 4-space indentation"
                }
              ]
            }

            """)
        // Read-only refuses the write but still answers every call.
        let readOnly = try await cli.run(["exec", "--read-only", "--namespace", "ro"], stdin: response)
        let content = try #require(try JSONValue(parsing: readOnly.stdout)["content"]?.arrayValue)
        #expect(content.map { $0["is_error"] } == [true, nil, nil])
        #expect(try await cli.run(["--namespace", "ro", "list"]).stdout == "")
    }

    /// A stdout that refuses the results (here a full device) is an error with status 1, not a
    /// crash; the calls themselves ran.
    @Test func execReportsAStdoutThatRefusesTheResults() async throws {
        let cli = CommandRunner()
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let response = try String(contentsOf: CommandRunner.packageRoot.appendingPathComponent("Examples/claude-response.json"), encoding: .utf8)
        let result = try await cli.finish(cli.start("agent-memory", ["exec"], stdin: response, standardOutput: full))
        #expect(result.status == 1)
        #expect(result.stderr == "error: cannot write to stdout: No space left on device\n")
        #expect(try await cli.run(["recall", "user.preferences.editor"]).stdout == "Vim, with 4-space indentation\n")
    }

    /// The other commands' answers too: a stdout that refuses them is an error with status 1
    /// (it was a crash in Foundation's `FileHandle.write`), and a write that ran stays.
    @Test func commandsReportAStdoutThatRefusesTheirAnswer() async throws {
        let cli = CommandRunner()
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        for arguments in [["remember", "user.lang", "Swift"], ["recall", "user.lang"], ["list"], ["search", "swift"]] {
            let result = try await cli.finish(cli.start("agent-memory", arguments, standardOutput: full))
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr == "error: cannot write to stdout: No space left on device\n", "\(arguments)")
        }
        #expect(try await cli.run(["recall", "user.lang"]).stdout == "Swift\n")
    }

    @Test(arguments: [
        ("{not json", "error: stdin is not valid JSON: Expected a string key at byte 1\n"),
        ("", "error: stdin is not valid JSON: Unexpected end of input at byte 0\n"),
        (#"{"id":"msg"}"#, "error: stdin: expected a Messages API response or message with a \"content\" array, or an array of content blocks; the object has no \"content\"\n"),
        (#"[{"type":"text","text":"x"}, 5]"#, "error: stdin: content block 1: a content block must be a JSON object, got integer\n"),
    ])
    func execRejectsMalformedStdinWithStatusTwo(stdin: String, message: String) async throws {
        let result = try await CommandRunner().run(["exec"], stdin: stdin)
        #expect(result.status == 2)
        #expect(result.stderr == message)
    }

    @Test func schemasMatchTheCommittedFiles() async throws {
        let cli = CommandRunner()
        let printed = try await cli.run(["schemas"])
        let committed = try String(contentsOf: CommandRunner.packageRoot.appendingPathComponent("tool-schemas/tools.json"), encoding: .utf8)
        #expect(printed.stdout == committed)
        let all = try JSONValue(parsing: try await cli.run(["schemas", "--tools", "all"]).stdout)
        #expect(all.arrayValue?.count == MemoryToolKind.everyTool.count)
        let directory = cli.home.appendingPathComponent("schemas")
        #expect(try await cli.run(["schemas", "--write", directory.path]).status == 0)
        let written = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        let expected = try FileManager.default.contentsOfDirectory(atPath: CommandRunner.packageRoot.appendingPathComponent("tool-schemas").path).sorted()
        #expect(written == expected)
        for name in written {
            let mine = try Data(contentsOf: directory.appendingPathComponent(name))
            let theirs = try Data(contentsOf: CommandRunner.packageRoot.appendingPathComponent("tool-schemas/\(name)"))
            #expect(mine == theirs, "tool-schemas/\(name) is out of date: run `swift run agent-memory schemas --write tool-schemas`")
        }
    }

    @Test func twoProcessesWritingOneFileLoseNothing() async throws {
        let cli = CommandRunner()
        let store = "sqlite:" + cli.home.appendingPathComponent("shared.sqlite").path
        let first = try cli.start("MemoryStress", ["put-keys", store, "crew", "first-", "1000"])
        let second = try cli.start("MemoryStress", ["put-keys", store, "crew", "second-", "1000"])
        let results = [try await cli.finish(first), try await cli.finish(second)]
        for result in results {
            #expect(result.status == 0, "stderr: \(result.stderr)")
        }
        let listed = try await cli.run(["--store", store, "--namespace", "crew", "list", "--limit", "5000"])
        let keys = listed.stdout.split(separator: "\n").map { $0.split(separator: "\t")[0] }
        #expect(keys.count == 2000)
        #expect(Set(keys).count == 2000)
        #expect(try await cli.run(["--store", store, "namespaces"]).stdout == "crew\t2000\n")
    }
}

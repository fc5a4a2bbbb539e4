import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing
import TestScratch

@Suite("agent-memory CLI for crews", .serialized)
struct CrewCLITests {
    @Test func compareAndSetConflictsExitWithStatusThree() async throws {
        let cli = CommandRunner()
        #expect(try await cli.run(["--agent", "alice", "remember", "plan", "v1", "--if-version", "0"]).status == 0)
        let conflict = try await cli.run(["--agent", "bob", "remember", "plan", "bob's plan", "--if-version", "0"])
        #expect(conflict.status == 3)
        #expect(conflict.stderr == "error: Version conflict on key \"plan\": expected it not to exist, but it is at version 1 (written by alice)\ncurrent version: 1 (written by alice)\n")
        #expect(try await cli.run(["--agent", "bob", "remember", "plan", "v2", "--if-version", "1"]).stdout == "Updated \"plan\" (version 2).\n")
        let staleForget = try await cli.run(["forget", "plan", "--if-version", "1"])
        #expect(staleForget.status == 3)
        #expect(staleForget.stderr.hasSuffix("current version: 2 (written by bob)\n"))
        #expect(try await cli.run(["recall", "plan"]).stdout == "v2\n")
        #expect(try await cli.run(["--agent", "carol", "forget", "plan", "--if-version", "2"]).status == 0)
        #expect(try await cli.run(["history", "plan"]).stdout.split(separator: "\n").map { $0.split(separator: "\t").prefix(3).joined(separator: " ") } == [
            "v1 put alice", "v2 put bob", "v2 delete carol",
        ])
    }

    @Test func appendCreatesAListAndChangesShowAuthors() async throws {
        let cli = CommandRunner()
        #expect(try await cli.run(["--agent", "a1", "append", "todo", "write tests"]).stdout == "Appended to \"todo\" (version 1; 1 item).\n")
        #expect(try await cli.run(["--agent", "a2", "append", "todo", #"{"task":"review"}"#, "--json"]).stdout == "Appended to \"todo\" (version 2; 2 items).\n")
        #expect(try await cli.run(["recall", "todo"]).stdout == #"["write tests",{"task":"review"}]"# + "\n")
        try await cli.run(["remember", "note", "text"])
        let refused = try await cli.run(["append", "note", "more", "--json"])
        #expect(refused.status == 2 || refused.status == 1)
        let changes = try await cli.run(["changes"]).stdout.split(separator: "\n").map { line -> String in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            return [fields[0], fields[2], fields[3], fields[4], fields[5]].joined(separator: " ")
        }
        #expect(changes == ["1 a1 append todo v1", "2 a2 append todo v2", "3 - put note v1"])
        #expect(try await cli.run(["changes", "--since", "2"]).stdout.split(separator: "\n").count == 1)
        let json = try JSONValue(parsing: String(try await cli.run(["changes", "--json", "--since", "1"]).stdout.split(separator: "\n")[0]))
        #expect(json["sequence"] == 2)
        #expect(json["author"] == "a2")
        #expect(json["operation"] == "append")
    }

    @Test func fourProcessesIncrementingOneCounterLoseNothing() async throws {
        let cli = CommandRunner()
        let store = "sqlite:" + cli.home.appendingPathComponent("crew.sqlite").path
        let processes = try (0..<4).map { _ in try cli.start("MemoryStress", ["increment", store, "crew", "counter", "2000"]) }
        for process in processes {
            let result = try await cli.finish(process)
            #expect(result.status == 0, "stderr: \(result.stderr)")
        }
        let record = try JSONValue(parsing: try await cli.run(["--store", store, "--namespace", "crew", "recall", "counter", "--json"]).stdout)
        #expect(record["value"] == 8000)
        #expect(record["version"] == 8000)
    }

    @Test func fourProcessesAppendingToOneListLoseAndDuplicateNothing() async throws {
        let cli = CommandRunner()
        let store = "sqlite:" + cli.home.appendingPathComponent("crew.sqlite").path
        let processes = try (0..<4).map { _ in try cli.start("MemoryStress", ["append", store, "crew", "list", "250"]) }
        for process in processes {
            #expect(try await cli.finish(process).status == 0)
        }
        let items = try JSONValue(parsing: try await cli.run(["--store", store, "--namespace", "crew", "recall", "list"]).stdout)
            .arrayValue?.compactMap(\.stringValue) ?? []
        #expect(items.count == 1000)
        #expect(Set(items).count == 1000)
    }

    @Test func aFollowerInAnotherProcessSeesEveryChangeInOrder() async throws {
        let cli = CommandRunner()
        let store = "sqlite:" + cli.home.appendingPathComponent("feed.sqlite").path
        try await cli.run(["--store", store, "--agent", "setup", "remember", "seed", "1"])
        let follower = try cli.start("agent-memory", ["--store", store, "changes", "--follow", "--json"])
        defer { if follower.0.isRunning { follower.0.terminate() } }
        for (agent, key) in [("alice", "a"), ("bob", "b"), ("alice", "c")] {
            try await cli.run(["--store", store, "--agent", agent, "remember", key, "value"])
        }
        try await cli.run(["--store", store, "--agent", "bob", "forget", "a"])
        var lines: [Substring] = []
        let deadline = Date().addingTimeInterval(120)  // polled: only a failure waits it out
        while Date() < deadline {
            lines = String(decoding: try Data(contentsOf: follower.1), as: UTF8.self).split(separator: "\n")
            if lines.count >= 5 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        follower.0.terminate()
        let changes = try lines.map { try JSONValue(parsing: String($0)) }
        #expect(changes.map { $0["sequence"]?.intValue ?? -1 } == [1, 2, 3, 4, 5])
        #expect(changes.map { $0["author"]?.stringValue ?? "" } == ["setup", "alice", "bob", "alice", "bob"])
        #expect(changes.map { $0["operation"]?.stringValue ?? "" } == ["put", "put", "put", "put", "delete"])
        #expect(changes.map { $0["key"]?.stringValue ?? "" } == ["seed", "a", "b", "c", "a"])
    }
}

@Suite("Durability and Claude's memory tool from the CLI", .serialized)
struct DurabilityAndMemoryToolCLITests {
    @Test func everyAcknowledgedWriteSurvivesKillDashNine() async throws {
        let cli = CommandRunner()
        let store = "sqlite:" + cli.home.appendingPathComponent("durable.sqlite").path
        let writer = try cli.start("MemoryStress", ["put-acked", store, "d", "key-", "100000"])
        var acknowledged: [Substring] = []
        let deadline = Date().addingTimeInterval(120)  // polled: only a failure waits it out
        while Date() < deadline {
            acknowledged = String(decoding: try Data(contentsOf: writer.1), as: UTF8.self).split(separator: "\n")
            if acknowledged.count >= 300 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        kill(writer.0.processIdentifier, SIGKILL)
        let ended = try await cli.finish(writer)
        #expect(writer.0.terminationReason == .uncaughtSignal, "status \(ended.status): \(ended.stderr)")
        // Everything printed before the kill had been acknowledged, so it must be there.
        acknowledged = String(decoding: try Data(contentsOf: writer.1), as: UTF8.self).split(separator: "\n")
        #expect(acknowledged.count >= 300)
        let stored = Set(try await cli.run(["--store", store, "--namespace", "d", "list", "--limit", "100000"]).stdout
            .split(separator: "\n").map { $0.split(separator: "\t")[0] })
        let lost = acknowledged.filter { !stored.contains($0) }
        #expect(lost.isEmpty, "acknowledged but lost: \(lost.prefix(5))")
    }

    @Test func execWithTheMemoryToolGivesTheReferenceResults() async throws {
        let cli = CommandRunner()
        func exec(_ command: JSONValue) async throws -> (String, Bool) {
            let response: JSONValue = ["content": [["type": "tool_use", "id": "toolu_m", "name": "memory", "input": command]]]
            let result = try await cli.run(["exec", "--tools", "memory"], stdin: response.jsonString())
            #expect(result.status == 0, "stderr: \(result.stderr)")
            let block = try #require(try JSONValue(parsing: result.stdout)["content"]?.arrayValue?.first)
            return (block["content"]?.stringValue ?? "", block["is_error"] == true)
        }
        #expect(try await exec(["command": "create", "path": "/memories/notes/todo.txt", "file_text": "buy milk\ncall mom\n"]) == ("File created successfully at: /memories/notes/todo.txt", false))
        #expect(try await exec(["command": "view", "path": "/memories"]) == ("Here're the files and directories up to 2 levels deep in /memories, excluding hidden items:\n4K\t/memories\n4K\t/memories/notes/\n18B\t/memories/notes/todo.txt", false))
        #expect(try await exec(["command": "str_replace", "path": "/memories/notes/todo.txt", "old_str": "call mom", "new_str": "call dad"]) == ("The memory file has been edited. Here is the snippet showing the change (with line numbers):\n     1\tbuy milk\n     2\tcall dad\n     3\t", false))
        #expect(try await exec(["command": "insert", "path": "/memories/notes/todo.txt", "insert_line": 0, "insert_text": "TODO"]) == ("The file /memories/notes/todo.txt has been edited.", false))
        #expect(try await exec(["command": "view", "path": "/memories/notes/todo.txt"]) == ("Here's the content of /memories/notes/todo.txt with line numbers:\n     1\tTODO\n     2\tbuy milk\n     3\tcall dad\n     4\t", false))
        #expect(try await exec(["command": "rename", "old_path": "/memories/notes", "new_path": "/memories/archive"]) == ("Successfully renamed /memories/notes to /memories/archive", false))
        #expect(try await exec(["command": "view", "path": "/memories/notes/todo.txt"]) == ("The path /memories/notes/todo.txt does not exist. Please provide a valid path.", true))
        #expect(try await exec(["command": "view", "path": "/memories/../etc/passwd"]) == ("Path /memories/../etc/passwd would escape /memories directory", true))
        #expect(try await exec(["command": "delete", "path": "/memories/archive"]) == ("Successfully deleted /memories/archive", false))
        #expect(try await exec(["command": "delete", "path": "/memories"]) == ("Cannot delete the /memories directory itself", true))
        // The same records are visible to the key-value tools and the CLI.
        try await cli.run(["remember", "/memories/hello.txt", "hi"])
        #expect(try await exec(["command": "view", "path": "/memories/hello.txt"]) == ("Here's the content of /memories/hello.txt with line numbers:\n     1\thi", false))
    }
}

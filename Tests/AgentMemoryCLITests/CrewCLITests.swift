import AgentMemory
import Foundation
import Testing

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
        let deadline = Date().addingTimeInterval(15)
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

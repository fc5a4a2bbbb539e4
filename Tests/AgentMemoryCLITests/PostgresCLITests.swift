import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing

/// The PostgreSQL server the CI starts; these tests are skipped (with this reason shown) without it.
let postgresURL = ProcessInfo.processInfo.environment["AGENT_MEMORY_TEST_POSTGRES_URL"]

@Suite("agent-memory CLI on PostgreSQL", .serialized)
struct PostgresCLITests {
    @Test(.enabled(if: postgresURL != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
    func rememberInOneProcessRecallInAnother() async throws {
        let cli = CommandRunner()
        let url = try #require(postgresURL)
        let namespace = "cli-\(UUID().uuidString.prefix(8))"
        let stored = try await cli.run(["--store", url, "--namespace", namespace, "--agent", "writer", "remember", "city", "Lisbon"])
        #expect(stored.status == 0, "stderr: \(stored.stderr)")
        #expect(stored.stdout == "Remembered \"city\" (version 1).\n")
        let recalled = try await cli.run(["--store", url, "--namespace", namespace, "recall", "city", "--json"])
        let record = try JSONValue(parsing: recalled.stdout)
        #expect(record["value"] == "Lisbon")
        #expect(record["author"] == "writer")
        // The environment variable works too.
        #expect(try await cli.run(["recall", "city"], extraEnvironment: ["AGENT_MEMORY_STORE": url, "AGENT_MEMORY_NAMESPACE": namespace]).stdout == "Lisbon\n")
    }

    @Test(.enabled(if: postgresURL != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
    func fourProcessesIncrementAndAppendWithoutLoss() async throws {
        let cli = CommandRunner()
        let url = try #require(postgresURL)
        let namespace = "crew-\(UUID().uuidString.prefix(8))"
        let incrementers = try (0..<4).map { _ in try cli.start("MemoryStress", ["increment", url, namespace, "counter", "2000"]) }
        for process in incrementers {
            let result = try await cli.finish(process)
            #expect(result.status == 0, "stderr: \(result.stderr)")
        }
        let counter = try JSONValue(parsing: try await cli.run(["--store", url, "--namespace", namespace, "recall", "counter", "--json"]).stdout)
        #expect(counter["value"] == 8000)
        let appenders = try (0..<4).map { _ in try cli.start("MemoryStress", ["append", url, namespace, "list", "1000"]) }
        for process in appenders {
            let result = try await cli.finish(process)
            #expect(result.status == 0, "stderr: \(result.stderr)")
        }
        let items = try JSONValue(parsing: try await cli.run(["--store", url, "--namespace", namespace, "recall", "list"]).stdout)
            .arrayValue?.compactMap(\.stringValue) ?? []
        #expect(items.count == 4000)
        #expect(Set(items).count == 4000)
    }

    @Test(.enabled(if: postgresURL != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
    func execConnectsWhileItParsesAndABadMessageWritesNothing() async throws {
        // `exec` opens a PostgreSQL store's connection while it reads the message (`connectAhead`).
        let cli = CommandRunner()
        let url = try #require(postgresURL)
        let namespace = "exec-\(UUID().uuidString.prefix(8))"
        let truncated = #"{"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01", "name": "remember""#
        let bad = try await cli.run(["--store", url, "--namespace", namespace, "exec"], stdin: truncated)
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("error: stdin is not valid JSON"), "\(bad.stderr)")
        #expect(bad.stdout == "")
        let response = try String(contentsOf: CommandRunner.packageRoot.appendingPathComponent("Examples/claude-response.json"), encoding: .utf8)
        let result = try await cli.run(["--store", url, "--namespace", namespace, "exec"], stdin: response)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == """
            {"role":"user","content":[\
            {"type":"tool_result","tool_use_id":"toolu_01","content":"Remembered \\"user.preferences.editor\\" (version 1)."},\
            {"type":"tool_result","tool_use_id":"toolu_02","content":"Vim, with 4-space indentation"},\
            {"type":"tool_result","tool_use_id":"toolu_03","content":"user.preferences.editor: Vim, with 4-space indentation"}]}

            """)
        let listed = try await cli.run(["--store", url, "--namespace", namespace, "list"]).stdout
        #expect(listed.hasPrefix("user.preferences.editor\t") && listed.filter { $0 == "\n" }.count == 1, "\(listed)")
    }

    @Test func anUnreachableServerIsAClearErrorQuickly() async throws {
        let cli = CommandRunner()
        let started = Date()
        let result = try await cli.run(["--store", "postgres://agent:secret@127.0.0.1:9/memory", "recall", "k"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("127.0.0.1:9"))
        #expect(!result.stderr.contains("secret"))
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func aMalformedURLIsAClearErrorWithStatusTwo() async throws {
        let result = try await CommandRunner().run(["--store", "postgres://agent:secret@/", "recall", "k"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: "))
        #expect(result.stderr.contains("postgres://USER[:PASSWORD]@HOST"))
        #expect(!result.stderr.contains("secret"))
    }
}

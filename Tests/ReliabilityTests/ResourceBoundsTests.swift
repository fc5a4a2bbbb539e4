import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemory
import AgentMemoryTesting
import ClaudeClient
import Foundation
import Testing
import TestScratch

@Suite("Resource bounds")
struct ResourceBoundsTests {
    @Test("a model that calls tools forever stops at the iteration limit", arguments: [1, 5])
    func iterationLimit(limit: Int) async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        for turn in 0..<(limit + 5) {
            server.enqueue(.message(MessageResponse(
                id: "msg_\(turn)", model: "claude-test",
                content: [.toolUse(id: "toolu_\(turn)", name: "recall", input: ["key": "again"])], stopReason: .toolUse,
                usage: Usage(inputTokens: 1, outputTokens: 1))))
        }
        let loop = AgentLoop(
            client: faultClient(server), executor: MemoryToolExecutor(store: InMemoryMemoryStore(), namespace: try Namespace("loop")),
            configuration: AgentConfiguration(model: "claude-test", maxIterations: limit, streaming: false))
        let session = AgentSession()
        let result = try await loop.run("Go.", in: session)
        #expect(result.reachedMaxIterations)
        #expect(result.iterations == limit)
        #expect(server.requests.count == limit)
        // Every call it made still got its result.
        #expect(await session.messages.count == 1 + 2 * limit)
    }

    @Test("list_memory and search_memory results stay within their page size, however large the namespace")
    func boundedResults() async throws {
        let folder = try scratchDirectory("bounds")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteMemoryStore(path: folder.appendingPathComponent("memory.sqlite").path)
        let namespace = try Namespace("bounds")
        let longKey = String(repeating: "k", count: 500)
        let value = JSONValue.string(String(repeating: "needle haystack ", count: 1000))
        try await store.batch((0..<400).map { .put(key: MemoryKey(checked: "\(longKey)\($0)"), value: value) }, in: namespace)
        let executor = MemoryToolExecutor(store: store, namespace: namespace, tools: MemoryToolKind.allCases)
        let list = await executor.run(name: "list_memory", input: ["limit": 100])
        let lines = list.text.split(separator: "\n")
        #expect(lines.count == 101)  // 100 keys and the line with the next cursor
        let listBound = 100 * (512 + 2 + 81 * 4) + 1000  // keys, previews of 80 characters, the cursor line
        #expect(list.text.utf8.count < listBound)
        let tooMany = await executor.run(name: "list_memory", input: ["limit": 100_000])
        #expect(tooMany.isError)
        let search = await executor.run(name: "search_memory", input: ["query": "needle", "limit": 50])
        #expect(search.text.split(separator: "\n").count == 50)
        let searchBound = 50 * (512 + 2 + 201 * 4)  // keys and snippets of 200 characters
        #expect(search.text.utf8.count < searchBound)
        let unbounded = try await store.search("needle", in: namespace, limit: 7)
        #expect(unbounded.count == 7)
        #expect(try await store.list(in: namespace, prefix: nil, cursor: nil, limit: 33).records.count == 33)
    }

    @Test("resident memory stays flat over a run of tool calls (long form: scripts/reliability)")
    func flatMemory() async throws {
        let folder = try scratchDirectory("rss")
        defer { try? FileManager.default.removeItem(at: folder) }
        let calls = trials("RELIABILITY_RSS_CALLS", short: 20_000)
        let child = try Child.start(["memory", "sqlite:" + folder.appendingPathComponent("memory.sqlite").path, "rss", String(calls)])
        try await child.wait()
        #expect(child.process.terminationStatus == 0, "\(child.errors)")
        let samples = child.lines.compactMap { line -> Int? in
            let parts = line.split(separator: " ")
            return parts.first == "rss" ? Int(parts[2]) : nil
        }
        #expect(samples.count == 10)
        // After warm-up (the second sample) the resident size may wobble, but not grow with the
        // number of calls: the last sample within 25% (and 16 MB) of the second.
        if samples.count == 10 {
            let growth = samples[9] - samples[1]
            #expect(Double(growth) < max(Double(samples[1]) * 0.25, 16_384), "rss samples in KB: \(samples)")
        }
        print("ResourceBoundsTests.flatMemory: \(calls) calls, rss KB \(samples)")
    }

    @Test(
        "resident memory stays flat while a watch reads a day of changes (long form: 86,400 changes)",
        .disabled(
            if: TestTimeScale.sanitizer == "address",
            "under AddressSanitizer: its quarantine keeps freed memory resident (192 MB growth), so the bound says nothing"))
    func flatWatch() async throws {
        let folder = try scratchDirectory("rss-watch")
        defer { try? FileManager.default.removeItem(at: folder) }
        let events = trials("RELIABILITY_WATCH_EVENTS", short: 8_640)
        let start = ContinuousClock.now
        // The watch polls every 10 ms instead of SQLite's 100 ms: more polls in the compressed day.
        let child = try Child.start(["watch", "sqlite:" + folder.appendingPathComponent("memory.sqlite").path, "watch", String(events), "10"])
        try await child.wait()
        #expect(child.process.terminationStatus == 0, "\(child.errors)")
        let samples = child.lines.compactMap { line -> Int? in
            let parts = line.split(separator: " ")
            return parts.first == "rss" ? Int(parts[2]) : nil
        }
        #expect(samples.count == 10)
        if samples.count == 10 {
            let growth = samples[9] - samples[1]
            #expect(Double(growth) < max(Double(samples[1]) * 0.25, 16_384), "rss samples in KB: \(samples)")
        }
        print("ResourceBoundsTests.flatWatch: \(events) changes watched in \(start.duration(to: .now)), rss KB \(samples)")
    }
}

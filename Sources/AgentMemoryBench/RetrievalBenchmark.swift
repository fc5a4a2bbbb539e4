import AgentMemory
import Foundation

/// Retrieval quality through the `search_memory` tool: each conversation's turns stored in a
/// namespace of their own, each question asked through ``MemoryToolExecutor``, and recall@k
/// counted (an answering turn among the first k keys the tool returns).
public struct RetrievalBenchmark {
    let data: RetrievalData

    /// Recall at 5 and 10 on one store, overall and by question category.
    struct Result {
        var store: String
        var questions: Int
        var recallAt5: Double
        var recallAt10: Double
        var recallAt5ByCategory: [Int: Double]
        var seconds: Double
    }

    /// Stores every conversation in `store` (one batch per conversation) and asks every question.
    func run(_ store: any MemoryStore, label: String) async throws -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        var executors: [String: MemoryToolExecutor] = [:]
        for conversation in data.conversations {
            let namespace = try Namespace("locomo-\(conversation.id)")
            try await store.batch(conversation.memories.map { .put(key: MemoryKey(checked: $0.key), value: .string($0.text)) }, in: namespace)
            executors[conversation.id] = MemoryToolExecutor(store: store, namespace: namespace, tools: [.searchMemory])
        }
        var at5 = 0
        var at10 = 0
        var byCategory: [Int: (found: Int, asked: Int)] = [:]
        for question in data.questions {
            guard let executor = executors[question.conversation] else {
                throw BenchError("retrieval: question of unknown conversation \(question.conversation)")
            }
            let outcome = await executor.run(name: "search_memory", input: ["query": .string(question.text), "limit": 10])
            guard !outcome.isError else { throw BenchError("retrieval: search_memory failed: \(outcome.text)") }
            let keys = Self.keys(in: outcome.text)
            let found5 = keys.prefix(5).contains { question.evidence.contains($0) }
            at5 += found5 ? 1 : 0
            at10 += keys.prefix(10).contains { question.evidence.contains($0) } ? 1 : 0
            byCategory[question.category, default: (0, 0)].found += found5 ? 1 : 0
            byCategory[question.category, default: (0, 0)].asked += 1
        }
        let count = Double(data.questions.count)
        return Result(
            store: label, questions: data.questions.count, recallAt5: Double(at5) / count, recallAt10: Double(at10) / count,
            recallAt5ByCategory: byCategory.mapValues { Double($0.found) / Double($0.asked) },
            seconds: (clock.now - start).seconds)
    }

    /// The keys of a `search_memory` result, in order: each line is `<key>: <snippet>` (the
    /// tool's documented format); a miss is one line that names no key.
    static func keys(in text: String) -> [String] {
        guard !text.hasPrefix("No memories match") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            line.range(of: ": ").map { String(line[..<$0.lowerBound]) }
        }
    }

    /// The report: one row per store.
    static func table(_ results: [Result], data: RetrievalData) -> String {
        let turns = data.conversations.reduce(0) { $0 + $1.memories.count }
        var lines = [
            "LoCoMo retrieval through search_memory: \(data.questions.count) questions (categories 1-4), "
                + "\(turns) turns in \(data.conversations.count) conversations (one namespace each)",
            "",
            "| store | recall@5 | recall@10 | recall@5 by category 1 / 2 / 3 / 4 | target | met? | seconds |",
            "|---|---:|---:|---|---|---|---:|",
        ]
        for result in results {
            let categories = (1...4).map { result.recallAt5ByCategory[$0].map(percent) ?? "-" }.joined(separator: " / ")
            lines.append(
                "| \(result.store) | \(percent(result.recallAt5)) | \(percent(result.recallAt10)) | \(categories) | recall@5 ≥ 70% | "
                    + "\(result.recallAt5 >= 0.7 ? "yes" : "NO") | \(String(format: "%.1f", result.seconds)) |")
        }
        return lines.joined(separator: "\n")
    }

    private static func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
}

extension RetrievalBenchmark {
    /// `bench --retrieval`: the in-memory store, a throwaway SQLite file, and the store named
    /// by --store when it is another kind (its namespaces are emptied afterwards).
    public static func runAll(dataPath: String, other: (any MemoryStore, String)?) async throws -> String {
        let benchmark = RetrievalBenchmark(data: try RetrievalData(path: dataPath))
        var results = [try await benchmark.run(InMemoryMemoryStore(), label: "memory")]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-memory-retrieval-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = try SQLiteMemoryStore(path: directory.appendingPathComponent("retrieval.sqlite").path, synchronous: .normal, idleIndexMerge: nil)
        results.append(try await benchmark.run(sqlite, label: "sqlite"))
        try await sqlite.close()
        if case let (store, label)? = other {
            do {
                results.append(try await benchmark.run(store, label: label))
            } catch {
                try? await benchmark.empty(store)
                throw error
            }
            try await benchmark.empty(store)
        }
        return table(results, data: benchmark.data)
    }

    /// Deletes the memories this benchmark stored.
    func empty(_ store: any MemoryStore) async throws {
        for conversation in data.conversations {
            let namespace = try Namespace("locomo-\(conversation.id)")
            try await store.batch(conversation.memories.map { .delete(key: MemoryKey(checked: $0.key)) }, in: namespace)
        }
    }
}

import AgentMemory
import AgentMemoryRuntime
import Foundation

extension StoreBenchmarks {
    /// Get, list and search through each of the SQLite store's read paths (issue 9): on the
    /// calling thread, and on the store's read queue (an async hop per read, but no thread of
    /// Swift's cooperative pool held while SQLite works). Runs on the filled file at `path`.
    func readPaths(path: String) async throws -> [BenchMeasurement] {
        var results: [BenchMeasurement] = []
        var generator = SplitMix64(seed: 11)
        let records = plan.records
        let keys = (0..<plan.gets).map { _ in BenchData.key(Int(generator.next() % UInt64(records))) }
        let cursors = (0..<plan.lists).map { _ in
            ListCursor.encode(afterKey: BenchData.key(Int(generator.next() % UInt64(max(1, records - 100)))))
        }
        let namespace = namespace
        for (readPath, name) in [(SQLiteMemoryStore.ReadPath.callingThread, "calling thread"), (.readerQueue, "reader queue")] {
            results += try await RuntimeSettings.closing(try SQLiteMemoryStore(path: path, readPath: readPath, idleIndexMerge: nil)) { store in
                var rows: [BenchMeasurement] = []
                rows.append(try await measureSequential("get hit, \(name)", store: "sqlite", iterations: plan.gets, budget: plan.budget) { index in
                    guard try await store.get(keys[index], in: namespace) != nil else {
                        throw BenchError("bench: get \(keys[index]) found nothing in a filled namespace")
                    }
                })
                rows.append(try await measureSequential(
                    "list page of 100, \(name)", store: "sqlite", iterations: plan.lists, budget: plan.budget
                ) { index in
                    _ = try await store.list(in: namespace, prefix: nil, cursor: cursors[index], limit: 100)
                })
                rows.append(try await measureSequential(
                    "search limit 10, \(name)", store: "sqlite", iterations: plan.searches, budget: plan.budget
                ) { index in
                    _ = try await store.search(data.query(index), in: namespace, limit: 10)
                })
                return rows
            }
        }
        // Last on this file, so that every row above measures the index as the writes left it.
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        return results + (try await RuntimeSettings.closing(store) { _ in try await searchBeforeAndAfterMerge(store) })
    }

    /// The limit-10 search on the index as the writes left it, then again after
    /// ``SQLiteMemoryStore/optimizeSearchIndex()`` has merged it into one segment (as a large
    /// import does), on the same store; the second row's note gives the segments before and
    /// after and the merge's own time.
    private func searchBeforeAndAfterMerge(_ store: SQLiteMemoryStore) async throws -> [BenchMeasurement] {
        let namespace = namespace
        let search: (Int) async throws -> Void = { index in
            _ = try await store.search(data.query(index), in: namespace, limit: 10)
        }
        let written = try await measureSequential(
            "search limit 10, index as written", store: "sqlite", iterations: plan.searches, budget: plan.budget, search)
        let clock = ContinuousClock()
        let start = clock.now
        let (before, after) = try await store.optimizeSearchIndex()
        let merge = clock.now - start
        let merged = try await measureSequential(
            "search limit 10, index merged", store: "sqlite", iterations: plan.searches, budget: plan.budget,
            note: "the same searches after optimizeSearchIndex() merged the full-text index's \(before) segments into \(after) (the merge took \(merge.formatted(.units(allowed: [.seconds, .milliseconds], width: .abbreviated))))",
            search)
        return [written, merged]
    }
}

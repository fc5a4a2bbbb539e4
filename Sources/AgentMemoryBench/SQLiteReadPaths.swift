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
            results += try await RuntimeSettings.closing(try SQLiteMemoryStore(path: path, readPath: readPath)) { store in
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
        return results
    }
}

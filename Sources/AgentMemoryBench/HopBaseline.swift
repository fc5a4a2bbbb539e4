import AgentMemory
import Dispatch
import Foundation
import GRDB

/// The cost of one async call onto a serial `DispatchQueue` and back, with no work: what
/// GRDB's async `read` and `write` do around every statement (an actor whose executor is
/// the connection's queue), so a store call can be split into this hop and the SQL itself.
actor DispatchQueueHop {
    private let executor: QueueExecutor

    init() { executor = QueueExecutor(queue: DispatchQueue(label: "bench.hop")) }

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private var calls = 0

    func touch() -> Int {
        calls += 1
        return calls
    }

    private final class QueueExecutor: SerialExecutor {
        let queue: DispatchQueue

        init(queue: DispatchQueue) { self.queue = queue }

        func enqueue(_ job: UnownedJob) {
            queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
        }
    }
}

extension StoreBenchmarks {
    /// Awaits ``DispatchQueueHop/touch()`` repeatedly from a task on the cooperative pool.
    func dispatchHop() async throws -> BenchMeasurement {
        let hop = DispatchQueueHop()
        return try await measureSequential(
            "baseline: await a DispatchQueue actor, no SQL", store: "", iterations: plan.gets, budget: plan.budget,
            note: "the hop GRDB's async read/write makes per call"
        ) { _ in
            _ = await hop.touch()
        }
    }
}

/// The same point look-up as ``SQLiteMemoryStore/get(_:in:)``, straight through GRDB on its own
/// connection pool to the same file: async (as the store does it) and synchronous on the
/// calling thread (no hop), to split a get into GRDB's read path and the SQL.
struct GRDBReadBaseline {
    let plan: BenchPlan

    func measure(path: String, namespace: Namespace) async throws -> [BenchMeasurement] {
        let pool = try DatabasePool(path: path)
        let sql = "SELECT value FROM memory_records WHERE namespace = ? AND key = ?"
        var generator = SplitMix64(seed: 9)
        let keys = (0..<plan.gets).map { _ in BenchData.key(Int(generator.next() % UInt64(max(1, plan.records)))) }
        let name = namespace.name
        var results: [BenchMeasurement] = []
        results.append(try await measureSequential(
            "baseline: GRDB async pool.read, same SELECT", store: "sqlite", iterations: plan.gets, budget: plan.budget,
            note: "what SQLiteMemoryStore.get runs, without its decoding"
        ) { index in
            let key = keys[index]
            _ = try await pool.read { db in try String.fetchOne(db.cachedStatement(sql: sql), arguments: [name, key]) }
        })
        results.append(try await measureSequential(
            "baseline: GRDB sync pool.read, same SELECT", store: "sqlite", iterations: plan.gets, budget: plan.budget,
            note: "the same on the calling thread: no hop"
        ) { index in
            let key = keys[index]
            _ = try pool.read { db in try String.fetchOne(db.cachedStatement(sql: sql), arguments: [name, key]) }
        })
        try pool.close()
        return results
    }
}

extension GRDBReadBaseline {
    /// A one-row insert into a plain `(ns, key, value)` table, synchronous FULL, through GRDB's
    /// async and synchronous `write`: what a durable commit costs through GRDB before our
    /// schema (change log, full-text index) adds its pages.
    func plainWrites(directory: URL) async throws -> [BenchMeasurement] {
        let pool = try DatabasePool(path: directory.appendingPathComponent("plain.sqlite").path)
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "CREATE TABLE plain (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (ns, key))")
        }
        let sql = "INSERT INTO plain (ns, key, value) VALUES ('bench', ?, ?)"
        let value = "\"User prefers jasmine tea in the morning; flight to Lisbon booked for friday.\""
        var results: [BenchMeasurement] = []
        results.append(try await measureSequential(
            "baseline: GRDB async write, plain 1-row insert, FULL", store: "sqlite", iterations: plan.puts, budget: plan.budget,
            note: "GRDB's durable write path without our schema"
        ) { index in
            try await pool.write { db in try db.cachedStatement(sql: sql).execute(arguments: ["async/\(index)", value]) }
        })
        results.append(try await measureSequential(
            "baseline: GRDB sync write, plain 1-row insert, FULL", store: "sqlite", iterations: plan.puts, budget: plan.budget,
            note: "the same on the calling thread: no hop"
        ) { index in
            try pool.write { db in try db.cachedStatement(sql: sql).execute(arguments: ["sync/\(index)", value]) }
        })
        try pool.close()
        return results
    }
}

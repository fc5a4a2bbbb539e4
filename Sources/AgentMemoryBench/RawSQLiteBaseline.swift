import AgentMemory
import AgentMemoryRuntime
import Foundation
import GRDBSQLite

/// The physical limit the SQLite store's rows are compared with: the same statements through
/// SQLite's C API, without Swift, GRDB or the write rule, on files in the same folder, in WAL
/// mode with the same `synchronous` setting.
///
/// Three table shapes: `memory_records` exactly as the store creates it in a new file (its
/// unique key and expiry index); the same plus one `memory_changes` row per insert (the change
/// log, one `WITHOUT ROWID` b-tree, as the store keeps it), which every put of the store writes
/// too; and both plus an FTS5 index brought up to date before each commit with one `INSERT ...
/// SELECT` (the store indexes off the write path, in a file of its own: this shape is what
/// indexing at commit would cost).
///
/// The executor's end-to-end responses have a limit of their own (``responses(path:namespace:directory:executor:)``):
/// each response's SQL work in one transaction, with the second shape.
struct RawSQLiteBaseline {
    let plan: BenchPlan
    let data: BenchData

    /// The table shapes measured.
    enum Shape: String, CaseIterable {
        case records = "records table"
        case recordsAndChange = "records + change-log row"
        case recordsChangeAndIndex = "records + change-log row + FTS5 at commit"
    }

    /// Row names, so that the comparison can find them.
    static func batchName(_ shape: Shape) -> String { "raw SQLite: 1,000 inserts in one transaction, \(shape.rawValue)" }
    static func autocommitName(_ shape: Shape, _ synchronous: String) -> String {
        "raw SQLite: autocommit insert, \(synchronous), \(shape.rawValue)"
    }
    static let getName = "raw SQLite: prepared point get"
    /// The paused puts' rows: a commit after a pause longer than the kernel's clock tick.
    static let pausedPutName = "put after a pause of 5 ms"
    static let rawPausedName = "raw SQLite: autocommit insert after a pause of 5 ms, FULL, records table"
    static let store = "raw C API"
    /// The store column of the store's rows timed in turn with raw SQLite.
    static func pairedStore(_ synchronous: String) -> String { "sqlite \(synchronous), in turn with raw" }

    /// The store's batch, put (FULL and NORMAL) and get, each timed in rounds that alternate
    /// with the same work through the C API (every raw shape), so that both see the same load
    /// on a shared machine. The store files are opened at `path` (filled by the run before);
    /// the raw files go in `directory`.
    func measure(path: String, namespace: Namespace, directory: URL) async throws -> [BenchMeasurement] {
        var results: [BenchMeasurement] = []
        let values = (0..<100).map { data.note(plan.records + $0) }
        let texts = values.map { $0.jsonString() }
        // Batches of 1,000 new keys, FULL.
        let batches = max(4, min(20, plan.records / 1_000))
        results += try await RuntimeSettings.closing(try SQLiteMemoryStore(path: path, synchronous: .full, idleIndexMerge: nil)) { store in
            let raws = try Shape.allCases.map { shape in
                try RawConnection(path: directory.appendingPathComponent("raw-batch-\(shape).sqlite").path, synchronous: "FULL", shape: shape)
            }
            defer { raws.forEach { $0.close() } }
            return try await inTurn(
                store: ("fill: batch of 1,000 puts", Self.pairedStore("FULL")), raw: Shape.allCases.map(Self.batchName),
                iterations: batches, unitsPerOperation: 1_000, budget: plan.budget * 2,
                drain: { await (store as? SQLiteMemoryStore)?.waitForBackgroundIndexing() }, settle: { await Self.settle(store) },
                finish: { try await pendingWork(of: store) },
                store: { batch in
                    let operations: [MemoryOperation] = (0..<1_000).map {
                        .put(key: MemoryKey(checked: "paired-batch/\(batch)/\($0)"), value: values[$0 % values.count])
                    }
                    _ = try await store.batch(operations, in: namespace)
                },
                raw: raws.map { raw in
                    { batch in
                        try raw.transaction {
                            for index in 0..<1_000 {
                                try raw.insert(key: "batch/\(batch)/\(index)", json: texts[index % texts.count], sequence: Int64(batch * 1_000 + index + 1))
                            }
                        }
                    }
                })
        }
        // Single puts, one per commit.
        for synchronous in [SQLiteMemoryStore.Synchronous.full, .normal] {
            let level = synchronous.rawValue
            results += try await RuntimeSettings.closing(try SQLiteMemoryStore(path: path, synchronous: synchronous, idleIndexMerge: nil)) { store in
                let raws = try Shape.allCases.map { shape in
                    try RawConnection(
                        path: directory.appendingPathComponent("raw-auto-\(shape)-\(level).sqlite").path, synchronous: level, shape: shape)
                }
                defer { raws.forEach { $0.close() } }
                return try await inTurn(
                    store: ("put, one writer", Self.pairedStore(level)), raw: Shape.allCases.map { Self.autocommitName($0, level) },
                    iterations: plan.puts, unitsPerOperation: 1, budget: plan.budget,
                    drain: { await (store as? SQLiteMemoryStore)?.waitForBackgroundIndexing() }, settle: { await Self.settle(store) },
                finish: { try await pendingWork(of: store) },
                    store: { index in _ = try await store.put("paired-put-\(level)/\(index)", value: values[index % values.count], in: namespace) },
                    raw: raws.map { raw in
                        { index in
                            try raw.transaction { try raw.insert(key: "put/\(index)", json: texts[index % texts.count], sequence: Int64(index + 1)) }
                        }
                    })
            }
        }
        // Single durable puts as an agent makes them, one after a pause (longer than the
        // kernel's 4 ms clock tick, so each write stamps the file's time and its sync also
        // writes the inode: BENCHMARKS.md, round forty-five).
        results += try await RuntimeSettings.closing(try SQLiteMemoryStore(path: path, synchronous: .full, idleIndexMerge: nil)) { store in
            let raw = try RawConnection(
                path: directory.appendingPathComponent("raw-paused.sqlite").path, synchronous: "FULL", shape: .records)
            defer { raw.close() }
            return try await inTurn(
                store: (Self.pausedPutName, Self.pairedStore("FULL")), raw: [Self.rawPausedName],
                iterations: max(20, plan.puts / 10), unitsPerOperation: 1, budget: plan.budget, pause: .milliseconds(5),
                drain: { await (store as? SQLiteMemoryStore)?.waitForBackgroundIndexing() }, settle: { await Self.settle(store) },
                finish: { try await pendingWork(of: store) },
                store: { index in _ = try await store.put("paused-put/\(index)", value: values[index % values.count], in: namespace) },
                raw: [
                    { index in
                        try raw.transaction { try raw.insert(key: "paused/\(index)", json: texts[index % texts.count], sequence: Int64(index + 1)) }
                    }
                ])
        }
        // Point gets of existing keys: the store's filled file, and a raw file of the same rows.
        let raw = try RawConnection(path: directory.appendingPathComponent("raw-get.sqlite").path, synchronous: "FULL", shape: .records)
        defer { raw.close() }
        try fillStoredKeys(raw)
        var generator = SplitMix64(seed: 7)
        let keys = (0..<plan.gets).map { _ in BenchData.key(Int(generator.next() % UInt64(plan.records))) }
        let now = Date().timeIntervalSince1970
        results += try await RuntimeSettings.closing(try SQLiteMemoryStore(path: path, idleIndexMerge: nil)) { store in
            try await inTurn(
                store: ("get hit", Self.pairedStore("FULL")), raw: [Self.getName], iterations: plan.gets, unitsPerOperation: 1,
                budget: plan.budget, settle: { await Self.settle(store) }, finish: {},
                store: { index in
                    guard try await store.get(MemoryKey(checked: keys[index]), in: namespace) != nil else {
                        throw BenchError("bench: get \(keys[index]) found nothing in a filled namespace")
                    }
                },
                raw: [
                    { index in
                        guard try raw.get(key: keys[index], now: now) else { throw BenchError("bench: the raw get of \(keys[index]) found nothing") }
                    }
                ])
        }
        return results
    }

    /// The raw row that bounds the executor's end-to-end responses.
    static let responseName = "raw SQLite: a response's SQL in one transaction, FULL, records + change-log row"

    /// The executor's end-to-end responses on the store at `path` (FULL), timed in turn with
    /// each response's SQL work through the C API in one transaction: for a `remember`, the
    /// read of its key's current row, the record and its change-log row; for a `recall`, the
    /// point get. Raw SQLite decodes no JSON, plans nothing and writes no result: the limit a
    /// response's commit and statements set on this disk in this run.
    func responses(path: String, namespace: Namespace, directory: URL, executor: ExecutorBenchmarks) async throws -> [BenchMeasurement] {
        let calls = executor.responseCalls(slug: "paired")
        let responses = ExecutorBenchmarks.responses(calls)
        let texts = calls.map { $0.map { $0.value?.jsonString() } }
        let rawPath = directory.appendingPathComponent("raw-responses.sqlite").path
        return try await RuntimeSettings.closing(try SQLiteMemoryStore(path: path, synchronous: .full, idleIndexMerge: nil)) { store in
            // The stored keys the recalls read, in the raw file too.
            let raw = try RawConnection(path: rawPath, synchronous: "FULL", shape: .recordsAndChange)
            defer { raw.close() }
            try fillStoredKeys(raw)
            var sequence = Int64(plan.records)
            let tools = MemoryToolExecutor(store: store, namespace: namespace, agent: "bench-agent")
            return try await inTurn(
                store: (ExecutorBenchmarks.endToEndName, Self.pairedStore("FULL")), raw: [Self.responseName],
                iterations: responses.count, unitsPerOperation: plan.callsPerTurn, unit: "calls/s", budget: plan.budget,
                drain: { await (store as? SQLiteMemoryStore)?.waitForBackgroundIndexing() }, settle: { await Self.settle(store) },
                finish: { try await pendingWork(of: store) },
                store: { index in try await ExecutorBenchmarks.respond(responses[index], executor: tools, calls: plan.callsPerTurn) },
                raw: [
                    { index in
                        let now = Date().timeIntervalSince1970
                        try raw.transaction {
                            for (call, text) in zip(calls[index], texts[index]) {
                                let found = try raw.get(key: call.key, now: now)
                                if let text {
                                    sequence += 1
                                    try raw.insert(key: call.key, json: text, sequence: sequence)
                                } else if !found {
                                    throw BenchError("bench: the raw get of \(call.key) found nothing")
                                }
                            }
                        }
                    }
                ])
        }
    }

    /// The filled namespace's keys and notes in `raw`, in one transaction: what the gets and
    /// the responses' recalls read.
    private func fillStoredKeys(_ raw: RawConnection) throws {
        try raw.transaction {
            for index in 0..<plan.records {
                try raw.insert(key: BenchData.key(index), json: data.note(index).jsonString(), sequence: Int64(index + 1))
            }
        }
    }

    /// Waits for the SQLite store's background checkpoint, if one runs.
    private static func settle(_ store: any MemoryStore) async {
        await (store as? SQLiteMemoryStore)?.waitForBackgroundCheckpoint()
    }

    /// Runs `store` and each of `raw` in turn, in 20 rounds of `iterations / 20` operations
    /// (fewer when `budget` runs out), timing each operation; one row for the store and one per
    /// raw closure, with rates over each one's own summed time. `drain` runs after each of the
    /// store's rounds, timed as the store's (its background work that the round's operations
    /// asked for), then `settle`, untimed; `finish` once after the last, timed as the store's:
    /// the work its operations left pending (raw SQLite's operations leave none). With a
    /// `pause`, each operation on either side follows a sleep that long, untimed.
    private func inTurn(
        store name: (String, String), raw rawNames: [String], iterations: Int, unitsPerOperation: Int, unit: String? = nil,
        budget: Duration, pause: Duration = .zero,
        drain: () async -> Void = {}, settle: () async -> Void, finish: () async throws -> Void, store: (Int) async throws -> Void,
        raw: [(Int) throws -> Void]
    ) async throws -> [BenchMeasurement] {
        let clock = ContinuousClock()
        let rounds = min(20, max(1, iterations))
        let perRound = max(1, iterations / rounds)
        var storeSamples = LatencySamples(capacity: iterations)
        var rawSamples = raw.map { _ in LatencySamples(capacity: iterations) }
        var storeTime = Duration.zero
        var rawTimes = raw.map { _ in Duration.zero }
        let deadline = clock.now + budget * (1 + raw.count)
        var done = 0
        for _ in 0..<rounds {
            let range = done..<(done + perRound)
            for index in range {
                if pause > .zero { try await Task.sleep(for: pause) }
                let before = clock.now
                try await store(index)
                let elapsed = clock.now - before
                storeSamples.append(elapsed)
                storeTime += elapsed
            }
            // The store's background indexing of what this round wrote, timed as the store's
            // (the part that did not overlap the round itself), then its other background work
            // (a checkpoint of its log), untimed: both end before raw SQLite's turn, so that
            // neither is timed as raw SQLite's.
            storeTime += await clock.measure { await drain() }
            await settle()
            for (which, operation) in raw.enumerated() {
                for index in range {
                    if pause > .zero { try await Task.sleep(for: pause) }
                    let before = clock.now
                    try operation(index)
                    let elapsed = clock.now - before
                    rawSamples[which].append(elapsed)
                    rawTimes[which] += elapsed
                }
            }
            done += perRound
            if clock.now > deadline { break }
        }
        storeTime += try await clock.measure(finish)
        let note = "timed in turn with raw SQLite, \(done) each; rate over the operations' own time"
        var rows = [
            BenchMeasurement(
                name: name.0, store: name.1, rate: Double(done * unitsPerOperation) / storeTime.seconds,
                unit: unit ?? (unitsPerOperation == 1 ? "ops/s" : "puts/s"), p50: storeSamples.percentile(0.5),
                p99: storeSamples.percentile(0.99),
                count: done, note: note)
        ]
        for (which, rawName) in rawNames.enumerated() {
            rows.append(BenchMeasurement(
                name: rawName, store: Self.store, rate: Double(done * unitsPerOperation) / rawTimes[which].seconds,
                unit: unit ?? (unitsPerOperation == 1 ? "ops/s" : "puts/s"), p50: rawSamples[which].percentile(0.5),
                p99: rawSamples[which].percentile(0.99), count: done, note: note))
        }
        return rows
    }
}

import AgentMemory
import Foundation

/// The store-level measures: puts, gets, lists and searches on a namespace filled with
/// ``BenchPlan/records`` notes, and concurrent writers.
struct StoreBenchmarks: Sendable {
    let plan: BenchPlan
    let data: BenchData
    let namespace: Namespace

    /// Fills the namespace with batches of 1,000 puts, timing each batch (its notes are made
    /// before its timing starts).
    func fill(_ store: any MemoryStore, label: String) async throws -> BenchMeasurement {
        let batches = (plan.records + 999) / 1_000
        return try await measureSequential(
            "fill: batch of 1,000 puts", store: label, iterations: batches, budget: .seconds(3_600), unit: "puts/s",
            unitsPerOperation: 1_000, note: "one batch (one transaction on SQLite) per timed operation",
            finish: { try await pendingWork(of: store) },
            prepare: { batch -> [MemoryOperation] in
                let start = batch * 1_000
                let end = min(start + 1_000, plan.records)
                return (start..<end).map { .put(key: MemoryKey(checked: BenchData.key($0)), value: data.note($0)) }
            }
        ) { operations in
            try await store.batch(operations, in: namespace)
        }
    }

    /// Fills the namespace without timing it.
    func fillQuietly(_ store: any MemoryStore) async throws {
        for start in stride(from: 0, to: plan.records, by: 1_000) {
            let end = min(start + 1_000, plan.records)
            try await store.batch((start..<end).map { .put(key: MemoryKey(checked: BenchData.key($0)), value: data.note($0)) }, in: namespace)
        }
    }

    /// Individual awaited puts of new keys, one writer (each key and note made before its timing starts).
    func puts(_ store: any MemoryStore, label: String, name: String, prefix: String, target: BenchTarget?) async throws -> BenchMeasurement {
        try await measureSequential(
            name, store: label, iterations: plan.puts, budget: plan.budget, target: target,
            finish: { try await pendingWork(of: store) },
            prepare: { index in (key: "\(prefix)/\(index)", value: data.note(plan.records + index)) }
        ) { put in
            try await store.put(put.key, value: put.value, in: namespace)
        }
    }

    /// Gets (hits and misses), list pages and searches.
    func reads(_ store: any MemoryStore, label: String) async throws -> [BenchMeasurement] {
        var generator = SplitMix64(seed: 7)
        let records = plan.records
        let hitKeys = (0..<plan.gets).map { _ in BenchData.key(Int(generator.next() % UInt64(records))) }
        let getTarget = plan.isLarge ? BenchTargets.getLarge : BenchTargets.get
        var results: [BenchMeasurement] = []
        results.append(try await measureSequential("get hit", store: label, iterations: plan.gets, budget: plan.budget, target: getTarget) { index in
            guard try await store.get(hitKeys[index], in: namespace) != nil else {
                throw BenchError("bench: get \(hitKeys[index]) found nothing in a filled namespace")
            }
        })
        results.append(try await measureSequential("get miss", store: label, iterations: plan.gets, budget: plan.budget, target: getTarget) { index in
            if try await store.get(BenchData.key(records + index), in: namespace) != nil {
                throw BenchError("bench: get of a missing key found a record")
            }
        })
        let cursors = (0..<plan.lists).map { _ in
            ListCursor.encode(afterKey: BenchData.key(Int(generator.next() % UInt64(max(1, records - 100)))))
        }
        results.append(try await measureSequential(
            "list page of 100", store: label, iterations: plan.lists, budget: plan.budget, target: plan.isLarge ? nil : BenchTargets.list
        ) { index in
            _ = try await store.list(in: namespace, prefix: nil, cursor: cursors[index], limit: 100)
        })
        for limit in [10, 100] {
            let target = limit == 10 ? (plan.isLarge ? BenchTargets.search10Large : BenchTargets.search10) : nil
            results.append(try await measureSequential(
                "search limit \(limit)", store: label, iterations: plan.searches, budget: plan.budget, target: target
            ) { index in
                _ = try await store.search(data.query(index), in: namespace, limit: limit)
            })
        }
        if plan.isLarge { results += try await searchesByKind(store, label: label) }
        return results
    }

    /// The limit-10 search again, its queries split by how common their words are (the same
    /// query sequence, filtered): where a large index's search time goes. A word is counted
    /// common when it is among the vocabulary's most frequent words expected in 4,096 notes or
    /// more (the SQLite store's threshold for a common word): the rank whose Zipf share of a
    /// note's words, on average, reaches 4,096 of the records.
    func searchesByKind(_ store: any MemoryStore, label: String) async throws -> [BenchMeasurement] {
        let harmonic = (1...data.vocabulary.count).reduce(0.0) { $0 + 1.0 / Double($1) }
        let wordsPerNote = Double(BenchData.noteWords.lowerBound + BenchData.noteWords.upperBound) / 2
        let common = Int(Double(plan.records) * wordsPerNote / (harmonic * 4_096))
        let kinds: [(name: String, test: (Int, Int) -> Bool)] = [
            ("both words rare", { $0 >= common && $1 >= common }),
            ("one common word", { ($0 < common) != ($1 < common) }),
            ("both words common", { $0 < common && $1 < common }),
        ]
        var results: [BenchMeasurement] = []
        for kind in kinds {
            var queries: [String] = []
            var index = 0
            while queries.count < plan.searches, index < plan.searches * 1_000 {
                let (first, second) = data.queryRanks(index)
                if kind.test(first, second) { queries.append(data.query(index)) }
                index += 1
            }
            guard !queries.isEmpty else { continue }
            results.append(try await measureSequential(
                "search limit 10, \(kind.name)", store: label, iterations: queries.count, budget: plan.budget,
                note: "the search limit 10 queries whose words are both rare, one common or both common (common: among the vocabulary's \(common) most frequent words, expected in 4,096 records or more)"
            ) { index in
                _ = try await store.search(queries[index], in: namespace, limit: 10)
            })
        }
        return results
    }

    /// The price of indexing in batches: a limit-10 search right after a batch of ``burst``
    /// new puts (the batch untimed), which first indexes the rows the batch left pending (the
    /// SQLite store indexes every ``SQLiteMemoryStore/searchIndexCatchUpRows`` rows written, and
    /// before a search), then the same search again, with nothing pending. On a store of its
    /// own, so that the bursts do not grow the measured namespace.
    func searchAfterBurst(_ store: any MemoryStore, label: String) async throws -> [BenchMeasurement] {
        let burst = Self.burst
        guard burst < SQLiteMemoryStore.searchIndexCatchUpRows else {
            throw BenchError("bench: a burst of \(burst) puts is indexed by its own batch (the store indexes every "
                + "\(SQLiteMemoryStore.searchIndexCatchUpRows) rows); StoreBenchmarks.burst must stay below that")
        }
        let rounds = plan.quick ? 2 : 8
        let clock = ContinuousClock()
        var first = LatencySamples(capacity: rounds)
        var second = LatencySamples(capacity: rounds)
        for round in 0..<rounds {
            let operations: [MemoryOperation] = (0..<burst).map {
                .put(key: MemoryKey(checked: "burst/\(round)/\($0)"), value: data.note(round * burst + $0))
            }
            try await store.batch(operations, in: namespace)
            let query = data.query(round)
            first.append(try await clock.measure { _ = try await store.search(query, in: namespace, limit: 10) })
            second.append(try await clock.measure { _ = try await store.search(query, in: namespace, limit: 10) })
        }
        func row(_ name: String, _ samples: LatencySamples, _ note: String) -> BenchMeasurement {
            let seconds = samples.nanoseconds.reduce(0) { $0 + Double($1) } / 1e9
            return BenchMeasurement(
                name: name, store: label, rate: Double(samples.count) / max(seconds, 1e-9), unit: "ops/s",
                p50: samples.percentile(0.5), p99: samples.percentile(0.99), count: samples.count, note: note)
        }
        return [
            row("search limit 10 right after a batch of \(burst.formatted()) puts", first,
                "the search indexes the batch's rows first; \(rounds) bursts, the batches untimed"),
            row("search limit 10 again, nothing pending", second, "the same search at once after the one before"),
        ]
    }

    /// Puts in a burst of ``searchAfterBurst(_:label:)``: just under the SQLite store's catch-up
    /// threshold, so that the search finds them all pending.
    static let burst = 4_000

    /// `tasks` tasks putting distinct keys at once; latency per put, throughput over the wall
    /// time, which ends once the work the puts left pending is done (``pendingWork(of:)``). The
    /// keys and notes are made before the clock starts (making a note costs about 2.5 µs, which
    /// the tasks would otherwise spend beside the store's work on the same cores).
    func concurrentWriters(_ store: any MemoryStore, label: String, tasks: Int, target: BenchTarget?) async throws -> BenchMeasurement {
        let perTask = max(1, plan.writerPuts / tasks)
        let notes = (0..<perTask).map { data.note(plan.records + $0) }
        let keys = (0..<tasks).map { task in (0..<perTask).map { "writers-\(tasks)/\(task)/\($0)" } }
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + plan.budget
        let namespace = namespace
        let samples = try await withThrowingTaskGroup(of: LatencySamples.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var samples = LatencySamples(capacity: perTask)
                    for index in 0..<perTask {
                        let before = clock.now
                        try await store.put(keys[task][index], value: notes[index], in: namespace)
                        let after = clock.now
                        samples.append(after - before)
                        if index >= 3, after > deadline { break }
                    }
                    return samples
                }
            }
            var all = LatencySamples()
            for try await samples in group { all.append(contentsOf: samples) }
            return all
        }
        try await pendingWork(of: store)
        let elapsed = (clock.now - start).seconds
        return BenchMeasurement(
            name: "put, \(tasks) concurrent writer\(tasks == 1 ? "" : "s")", store: label, rate: Double(samples.count) / elapsed,
            unit: "ops/s", p50: samples.percentile(0.5), p99: samples.percentile(0.99), count: samples.count, target: target)
    }
}

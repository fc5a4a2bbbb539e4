import AgentMemory
import AgentMemoryRuntime
import Foundation
import GRDBSQLite

/// The physical limit the SQLite store's rows are compared with: the same statements through
/// SQLite's C API, without Swift, GRDB or the write rule, on files in the same folder, in WAL
/// mode with the same `synchronous` setting.
///
/// Three table shapes: `memory_records` exactly as the store creates it (its unique key, expiry
/// index and generated `body` column); the same plus one `memory_changes` row per insert (the
/// change log, one `WITHOUT ROWID` b-tree, as the store keeps it), which every put of the store
/// writes too; and both plus the FTS5 index brought up to date before each commit with one
/// `INSERT ... SELECT`, as the store does: the whole of the store's SQL work, without Swift,
/// GRDB or the write rule.
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
                        try raw.execute("BEGIN IMMEDIATE")
                        for index in 0..<1_000 {
                            try raw.insert(key: "batch/\(batch)/\(index)", json: texts[index % texts.count], sequence: Int64(batch * 1_000 + index + 1))
                        }
                        try raw.indexNewRows()
                        try raw.execute("COMMIT")
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
                            try raw.execute("BEGIN IMMEDIATE")
                            try raw.insert(key: "put/\(index)", json: texts[index % texts.count], sequence: Int64(index + 1))
                            try raw.indexNewRows()
                            try raw.execute("COMMIT")
                        }
                    })
            }
        }
        // Point gets of existing keys: the store's filled file, and a raw file of the same rows.
        let raw = try RawConnection(path: directory.appendingPathComponent("raw-get.sqlite").path, synchronous: "FULL", shape: .records)
        defer { raw.close() }
        try raw.execute("BEGIN IMMEDIATE")
        for index in 0..<plan.records {
            try raw.insert(key: BenchData.key(index), json: data.note(index).jsonString(), sequence: Int64(index + 1))
        }
        try raw.execute("COMMIT")
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

    /// Waits for the SQLite store's background checkpoint, if one runs.
    private static func settle(_ store: any MemoryStore) async {
        await (store as? SQLiteMemoryStore)?.waitForBackgroundCheckpoint()
    }

    /// Runs `store` and each of `raw` in turn, in 20 rounds of `iterations / 20` operations
    /// (fewer when `budget` runs out), timing each operation; one row for the store and one per
    /// raw closure, with rates over each one's own summed time. `drain` runs after each of the
    /// store's rounds, timed as the store's (its background work that the round's operations
    /// asked for), then `settle`, untimed; `finish` once after the last, timed as the store's:
    /// the work its operations left pending (raw SQLite's operations leave none).
    private func inTurn(
        store name: (String, String), raw rawNames: [String], iterations: Int, unitsPerOperation: Int, budget: Duration,
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
                unit: unitsPerOperation == 1 ? "ops/s" : "puts/s", p50: storeSamples.percentile(0.5), p99: storeSamples.percentile(0.99),
                count: done, note: note)
        ]
        for (which, rawName) in rawNames.enumerated() {
            rows.append(BenchMeasurement(
                name: rawName, store: Self.store, rate: Double(done * unitsPerOperation) / rawTimes[which].seconds,
                unit: unitsPerOperation == 1 ? "ops/s" : "puts/s", p50: rawSamples[which].percentile(0.5),
                p99: rawSamples[which].percentile(0.99), count: done, note: note))
        }
        return rows
    }
}

/// One SQLite connection through the C API with the few prepared statements the baseline runs.
private final class RawConnection {
    private var handle: OpaquePointer?
    private var insertRecord: OpaquePointer?
    private var insertChange: OpaquePointer?
    private var selectRecord: OpaquePointer?
    private var indexRows: OpaquePointer?
    /// The first row id not yet in the full-text index.
    private var unindexed: Int64 = 1
    private let shape: RawSQLiteBaseline.Shape
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(path: String, synchronous: String, shape: RawSQLiteBaseline.Shape) throws {
        self.shape = shape
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, "unix") == SQLITE_OK else {
            throw BenchError("bench: raw SQLite cannot open \(path)")
        }
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = \(synchronous)")
        // The store's tables, as its migrations create them (without the full-text index).
        try execute("""
            CREATE TABLE memory_records (
                id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                version INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, author TEXT,
                expires_at REAL, size INTEGER NOT NULL,
                body TEXT GENERATED ALWAYS AS (
                    CASE WHEN json_type(value) = 'text' THEN json_extract(value, '$') ELSE value END) VIRTUAL,
                UNIQUE (namespace, key));
            CREATE INDEX memory_records_expiry ON memory_records (expires_at) WHERE expires_at IS NOT NULL;
            CREATE TABLE memory_changes (
                namespace TEXT NOT NULL, sequence INTEGER NOT NULL, key TEXT NOT NULL, operation TEXT NOT NULL,
                version INTEGER NOT NULL, author TEXT, time REAL NOT NULL, PRIMARY KEY (namespace, sequence)) WITHOUT ROWID;
            """)
        insertRecord = try prepare("""
            INSERT INTO memory_records (value, version, created_at, updated_at, author, expires_at, size, namespace, key)
            VALUES (?1, 1, ?2, ?2, NULL, NULL, ?3, 'bench', ?4)
            """)
        insertChange = try prepare("""
            INSERT INTO memory_changes (namespace, sequence, key, operation, version, author, time)
            VALUES ('bench', ?1, ?2, 'put', 1, NULL, ?3)
            """)
        if shape == .recordsChangeAndIndex {
            try execute("""
                CREATE VIRTUAL TABLE memory_fts USING fts5(
                    key, body, content = 'memory_records', content_rowid = 'id', tokenize = 'porter unicode61')
                """)
            indexRows = try prepare("""
                INSERT INTO memory_fts (rowid, key, body) SELECT id, key, body FROM memory_records WHERE id BETWEEN ?1 AND ?2
                """)
        }
        selectRecord = try prepare("""
            SELECT key, value, version, created_at, updated_at, author, expires_at FROM memory_records
            WHERE namespace = 'bench' AND key = ?1 AND (expires_at IS NULL OR expires_at > ?2)
            """)
    }

    func execute(_ sql: String) throws {
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else { throw failure(sql) }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK else {
            throw failure(sql)
        }
        return statement
    }

    /// One record row (and its change-log row for that shape), bound and stepped.
    func insert(key: String, json: String, sequence: Int64) throws {
        let now = Date().timeIntervalSince1970
        sqlite3_bind_text(insertRecord, 1, json, -1, Self.transient)
        sqlite3_bind_double(insertRecord, 2, now)
        sqlite3_bind_int64(insertRecord, 3, Int64(json.utf8.count + key.utf8.count))
        sqlite3_bind_text(insertRecord, 4, key, -1, Self.transient)
        try step(insertRecord)
        if shape != .records {
            sqlite3_bind_int64(insertChange, 1, sequence)
            sqlite3_bind_text(insertChange, 2, key, -1, Self.transient)
            sqlite3_bind_double(insertChange, 3, now)
            try step(insertChange)
        }
    }

    /// Indexes the rows inserted since the last call (for the shape with the index), as the
    /// store does before each commit.
    func indexNewRows() throws {
        guard let indexRows else { return }
        let last = sqlite3_last_insert_rowid(handle)
        guard last >= unindexed else { return }
        sqlite3_bind_int64(indexRows, 1, unindexed)
        sqlite3_bind_int64(indexRows, 2, last)
        try step(indexRows)
        unindexed = last + 1
    }

    /// Whether the live row of `key` exists; its columns are read as the store reads them.
    func get(key: String, now: Double) throws -> Bool {
        sqlite3_bind_text(selectRecord, 1, key, -1, Self.transient)
        sqlite3_bind_double(selectRecord, 2, now)
        defer { sqlite3_reset(selectRecord) }
        switch sqlite3_step(selectRecord) {
        case SQLITE_ROW:
            _ = sqlite3_column_text(selectRecord, 0)
            _ = sqlite3_column_text(selectRecord, 1)
            _ = sqlite3_column_int64(selectRecord, 2)
            _ = sqlite3_column_double(selectRecord, 3)
            _ = sqlite3_column_double(selectRecord, 4)
            _ = sqlite3_column_text(selectRecord, 5)
            _ = sqlite3_column_double(selectRecord, 6)
            return true
        case SQLITE_DONE:
            return false
        default:
            throw failure("get")
        }
    }

    private func step(_ statement: OpaquePointer?) throws {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_DONE else { throw failure("insert") }
    }

    private func failure(_ what: String) -> BenchError {
        BenchError("bench: raw SQLite failed (\(what.prefix(60))): \(String(cString: sqlite3_errmsg(handle)))")
    }

    func close() {
        for statement in [insertRecord, insertChange, selectRecord, indexRows] { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
        handle = nil
    }
}

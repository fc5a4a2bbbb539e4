import AgentMemory
import Foundation
import GRDBSQLite

/// The physical limit the SQLite store's rows are compared with: the same statements through
/// SQLite's C API, without Swift, GRDB or the write rule, on files in the same folder, in WAL
/// mode with the same `synchronous` setting.
///
/// Two table shapes: `memory_records` exactly as the store creates it (its unique key, expiry
/// index and generated `body` column), and the same plus one `memory_changes` row per insert
/// (the change log with its two indexes), which is what every put of the store must write too.
/// The full-text index is left out: it is the store's own work, and part of what the ratio shows.
struct RawSQLiteBaseline {
    let plan: BenchPlan
    let data: BenchData

    /// The table shapes measured.
    enum Shape: String, CaseIterable {
        case records = "records table"
        case recordsAndChange = "records + change-log row"
    }

    /// Row names, so that the comparison can find them.
    static func batchName(_ shape: Shape) -> String { "raw SQLite: 1,000 inserts in one transaction, \(shape.rawValue)" }
    static func autocommitName(_ shape: Shape, _ synchronous: String) -> String {
        "raw SQLite: autocommit insert, \(synchronous), \(shape.rawValue)"
    }
    static let getName = "raw SQLite: prepared point get"
    static let store = "raw C API"

    /// Every raw row: batches, autocommit inserts (FULL and NORMAL) of both shapes, and gets.
    func measure(directory: URL) throws -> [BenchMeasurement] {
        var results: [BenchMeasurement] = []
        for shape in Shape.allCases {
            results.append(try batches(shape: shape, path: directory.appendingPathComponent("raw-batch-\(shape).sqlite").path))
            for synchronous in ["FULL", "NORMAL"] {
                let path = directory.appendingPathComponent("raw-auto-\(shape)-\(synchronous).sqlite").path
                results.append(try autocommitInserts(shape: shape, synchronous: synchronous, path: path))
            }
        }
        results.append(try gets(path: directory.appendingPathComponent("raw-get.sqlite").path))
        return results
    }

    /// `plan.records` rows in transactions of 1,000 (like the store's fill), each timed.
    private func batches(shape: Shape, path: String) throws -> BenchMeasurement {
        let connection = try RawConnection(path: path, synchronous: "FULL", shape: shape)
        defer { connection.close() }
        let batches = max(1, (plan.records + 999) / 1_000)
        let values = (0..<min(plan.records, 1_000)).map { data.note($0).jsonString() }
        return try measureSynchronously(
            Self.batchName(shape), iterations: batches, budget: .seconds(3_600), unit: "puts/s", unitsPerOperation: 1_000
        ) { batch in
            try connection.execute("BEGIN IMMEDIATE")
            for index in batch * 1_000..<(batch + 1) * 1_000 {
                try connection.insert(key: BenchData.key(index), json: values[index % values.count], sequence: Int64(index + 1))
            }
            try connection.execute("COMMIT")
        }
    }

    /// One insert per commit, as many as the store's `put, one writer` row does.
    private func autocommitInserts(shape: Shape, synchronous: String, path: String) throws -> BenchMeasurement {
        let connection = try RawConnection(path: path, synchronous: synchronous, shape: shape)
        defer { connection.close() }
        let values = (0..<100).map { data.note(plan.records + $0).jsonString() }
        return try measureSynchronously(Self.autocommitName(shape, synchronous), iterations: plan.puts, budget: plan.budget) { index in
            if shape == .records {
                try connection.insert(key: "put/\(index)", json: values[index % values.count], sequence: Int64(index + 1))
            } else {
                // Two rows must commit together: an explicit transaction, as the store's put.
                try connection.execute("BEGIN IMMEDIATE")
                try connection.insert(key: "put/\(index)", json: values[index % values.count], sequence: Int64(index + 1))
                try connection.execute("COMMIT")
            }
        }
    }

    /// Random point gets of existing keys in a table of `plan.records` rows, the store's
    /// `get` statement (live rows only) with its columns read.
    private func gets(path: String) throws -> BenchMeasurement {
        let connection = try RawConnection(path: path, synchronous: "FULL", shape: .records)
        defer { connection.close() }
        try connection.execute("BEGIN IMMEDIATE")
        for index in 0..<plan.records {
            try connection.insert(key: BenchData.key(index), json: data.note(index).jsonString(), sequence: Int64(index + 1))
        }
        try connection.execute("COMMIT")
        var generator = SplitMix64(seed: 7)
        let keys = (0..<plan.gets).map { _ in BenchData.key(Int(generator.next() % UInt64(plan.records))) }
        let now = Date().timeIntervalSince1970
        return try measureSynchronously(Self.getName, iterations: plan.gets, budget: plan.budget) { index in
            guard try connection.get(key: keys[index], now: now) else {
                throw BenchError("bench: the raw get of \(keys[index]) found nothing")
            }
        }
    }

    /// ``measureSequential`` for synchronous work (no `await` between the timed calls).
    private func measureSynchronously(
        _ name: String, iterations: Int, budget: Duration, unit: String = "ops/s", unitsPerOperation: Int = 1,
        _ operation: (Int) throws -> Void
    ) throws -> BenchMeasurement {
        let clock = ContinuousClock()
        var samples = LatencySamples(capacity: iterations)
        let start = clock.now
        let deadline = start + budget
        var done = 0
        while done < iterations {
            let before = clock.now
            try operation(done)
            let after = clock.now
            samples.append(after - before)
            done += 1
            if done >= 3, after > deadline { break }
        }
        let elapsed = (clock.now - start).seconds
        return BenchMeasurement(
            name: name, store: Self.store, rate: Double(done * unitsPerOperation) / elapsed, unit: unit,
            p50: samples.percentile(0.5), p99: samples.percentile(0.99), count: done)
    }
}

/// One SQLite connection through the C API with the few prepared statements the baseline runs.
private final class RawConnection {
    private var handle: OpaquePointer?
    private var insertRecord: OpaquePointer?
    private var insertChange: OpaquePointer?
    private var selectRecord: OpaquePointer?
    private let shape: RawSQLiteBaseline.Shape
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(path: String, synchronous: String, shape: RawSQLiteBaseline.Shape) throws {
        self.shape = shape
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
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
            CREATE INDEX memory_changes_by_key ON memory_changes (namespace, key, sequence);
            CREATE INDEX memory_changes_by_time ON memory_changes (time);
            """)
        insertRecord = try prepare("""
            INSERT INTO memory_records (value, version, created_at, updated_at, author, expires_at, size, namespace, key)
            VALUES (?1, 1, ?2, ?2, NULL, NULL, ?3, 'bench', ?4)
            """)
        insertChange = try prepare("""
            INSERT INTO memory_changes (namespace, sequence, key, operation, version, author, time)
            VALUES ('bench', ?1, ?2, 'put', 1, NULL, ?3)
            """)
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
        if shape == .recordsAndChange {
            sqlite3_bind_int64(insertChange, 1, sequence)
            sqlite3_bind_text(insertChange, 2, key, -1, Self.transient)
            sqlite3_bind_double(insertChange, 3, now)
            try step(insertChange)
        }
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
        for statement in [insertRecord, insertChange, selectRecord] { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
        handle = nil
    }
}

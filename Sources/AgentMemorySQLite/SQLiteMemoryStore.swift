import Foundation
import AgentMemoryCore
import GRDB
import Synchronization

/// The embedded default store: one SQLite file (WAL mode) that several processes may share.
///
/// - Durability: `synchronous = FULL` by default, so a write that returned survives a crash
///   or power loss; ``Synchronous/normal`` trades the last transactions on power loss (never
///   on a process crash) for speed.
/// - Concurrency: writers from several processes queue on SQLite's lock with a busy timeout
///   instead of failing; compare-and-set and batches run in one transaction.
/// - Search: an FTS5 index (porter stemming, unicode61) over keys and values, kept in sync by
///   triggers and ranked with bm25.
public final class SQLiteMemoryStore: MemoryStore {
    /// How hard SQLite works to make each commit durable.
    public enum Synchronous: String, Sendable, Hashable {
        /// fsync on every commit: survives power loss (the default).
        case full = "FULL"
        /// fsync at checkpoints only: survives a process crash, may lose the last commits on
        /// power loss.
        case normal = "NORMAL"
    }

    /// The file this store uses.
    public let path: String
    /// The limits enforced on every write.
    public let limits: MemoryLimits
    /// How long the change log is kept.
    public let retention: ChangeLogRetention
    private let pool: DatabasePool
    private let writer: GroupCommitWriter
    private let writesSincePrune = Mutex(0)
    let clock: @Sendable () -> Date

    /// Opens (creating if needed, with its parent directory) the SQLite file at `path`.
    ///
    /// - Parameters:
    ///   - busyTimeout: how long a write waits for another process's lock before failing.
    ///   - clock: the time source for timestamps and expiry (injectable for tests).
    public init(
        path: String,
        limits: MemoryLimits = .default,
        synchronous: Synchronous = .full,
        busyTimeout: Duration = .seconds(10),
        retention: ChangeLogRetention = .default,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.path = path
        self.limits = limits
        self.retention = retention
        self.clock = clock
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            pool = try Self.openPool(path: path, synchronous: synchronous, busyTimeout: busyTimeout)
            writer = GroupCommitWriter(pool: pool)
        } catch {
            throw MemoryError(.unavailable, "Cannot open the SQLite store at \(path): \(SQLiteMemoryStore.describe(error))")
        }
    }

    /// Opens the pool, applies the migrations and sets the durability level, retrying while
    /// another process holds the lock during its own first open (setting WAL mode does not
    /// always wait on SQLite's busy handler).
    private static func openPool(path: String, synchronous: Synchronous, busyTimeout: Duration) throws -> DatabasePool {
        var configuration = Configuration()
        let (seconds, attoseconds) = busyTimeout.components
        let timeout = Double(seconds) + Double(attoseconds) / 1e18
        configuration.busyMode = .timeout(timeout)
        configuration.label = "AgentMemory"
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                try SQLiteMigrations.migrate(pool)
                // Set on the writer after GRDB's WAL set-up, which itself sets NORMAL.
                try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
                }
                return pool
            } catch let error as DatabaseError
                where (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED) && Date() < deadline {
                usleep(UInt32.random(in: 5_000...25_000))
            }
        }
    }

    /// The `synchronous` setting in force on the connection that writes (0 off, 1 normal, 2 full).
    package func effectiveSynchronous() async throws -> Int {
        try await write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The default file: `$AGENT_MEMORY_HOME/memory.sqlite`, else `~/.agent-memory/memory.sqlite`.
    public static var defaultPath: String {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["AGENT_MEMORY_HOME"], !home.isEmpty {
            return (home as NSString).appendingPathComponent("memory.sqlite")
        }
        let userHome = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (userHome as NSString).appendingPathComponent(".agent-memory/memory.sqlite")
    }

    // MARK: - MemoryStore

    /// The live record under `key`, or `nil`.
    public func get(_ key: String, in namespace: Namespace) async throws -> MemoryRecord? {
        try limits.validate(key: key)
        let now = clock().timeIntervalSince1970
        return try await read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT key, value, version, created_at, updated_at, author, expires_at FROM memory_records
                WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)
                """)
            return try Row.fetchOne(statement, arguments: [namespace.name, key, now]).map(Self.record)
        }
    }

    /// Creates or replaces `key` in one transaction; see ``MemoryStore/put(_:value:in:options:)``.
    @discardableResult
    public func put(_ key: String, value: JSONValue, in namespace: Namespace, options: PutOptions) async throws -> MemoryRecord {
        let prepared = try limits.prepare(key: key, value: value, options: options)
        let now = clock()
        return try await write { db in
            try self.applyPut(prepared, in: namespace, now: now, db: db)
        }
    }

    /// Deletes `key`; see ``MemoryStore/delete(_:in:ifVersion:)``.
    @discardableResult
    public func delete(_ key: String, in namespace: Namespace, ifVersion: Int?, author: String?) async throws -> Bool {
        try limits.validate(key: key)
        let now = clock()
        return try await write { db in
            try self.applyDelete(key, ifVersion: ifVersion, author: author, in: namespace, now: now, db: db)
        }
    }

    /// Appends in one transaction; see ``MemoryStore/append(_:value:in:options:)``.
    @discardableResult
    public func append(_ key: String, value: JSONValue, in namespace: Namespace, options: AppendOptions) async throws -> MemoryRecord {
        try limits.validate(key: key)
        let now = clock()
        return try await write { db in
            try self.applyAppend(key, value: value, options: options, in: namespace, now: now, db: db)
        }
    }

    /// Changes after `since`, oldest first.
    public func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] {
        try ListCursor.validate(limit: limit)
        return try await read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT sequence, key, operation, version, author, time FROM memory_changes
                WHERE namespace = ? AND sequence > ? ORDER BY sequence LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [namespace.name, since, limit]).map(Self.change)
        }
    }

    /// The retained changes of `key`, oldest first.
    public func history(of key: String, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] {
        try limits.validate(key: key)
        try ListCursor.validate(limit: limit)
        return try await read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT sequence, key, operation, version, author, time FROM memory_changes
                WHERE namespace = ? AND key = ? ORDER BY sequence DESC LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [namespace.name, key, limit]).map(Self.change).reversed()
        }
    }

    /// Polls the change log (every 100 ms) and yields new changes; other processes' writes
    /// are seen too.
    public func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        pollChanges(in: namespace, since: since)
    }

    /// A page of live records in key byte order (SQLite's BINARY collation compares bytes).
    public func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        try ListCursor.validate(limit: limit)
        let after = try cursor.map(ListCursor.decode)
        let now = clock().timeIntervalSince1970
        var sql = """
            SELECT key, value, version, created_at, updated_at, author, expires_at FROM memory_records
            WHERE namespace = ? AND (expires_at IS NULL OR expires_at > ?)
            """
        var arguments: StatementArguments = [namespace.name, now]
        if let after {
            sql += " AND key > ?"
            _ = arguments.append(contentsOf: [after])
        }
        if let prefix, !prefix.isEmpty {
            sql += " AND key >= ?"
            _ = arguments.append(contentsOf: [prefix])
            if let upper = Self.upperBound(ofPrefix: prefix) {
                // A blob cast to TEXT keeps its bytes, so the bound need not be valid UTF-8.
                sql += " AND key < CAST(? AS TEXT)"
                _ = arguments.append(contentsOf: [upper])
            }
        }
        sql += " ORDER BY key LIMIT ?"
        _ = arguments.append(contentsOf: [limit + 1])
        let finalSQL = sql
        let finalArguments = arguments
        var records = try await read { db in
            // A cursor reuses one row instead of copying every row first.
            let rows = try Row.fetchCursor(db.cachedStatement(sql: finalSQL), arguments: finalArguments)
            var records: [MemoryRecord] = []
            while let row = try rows.next() { records.append(try Self.record(row)) }
            return records
        }
        var next: String?
        if records.count > limit {
            records.removeLast()
            next = records.last.map { ListCursor.encode(afterKey: $0.key) }
        }
        return MemoryPage(records: records, nextCursor: next)
    }

    /// Namespaces with live records.
    public func namespaces() async throws -> [NamespaceSummary] {
        let now = clock().timeIntervalSince1970
        return try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT namespace, COUNT(*) AS count FROM memory_records
                WHERE expires_at IS NULL OR expires_at > ? GROUP BY namespace ORDER BY namespace
                """, arguments: [now]).map { row in
                NamespaceSummary(namespace: try Namespace(row["namespace"]), recordCount: row["count"])
            }
        }
    }

    /// Applies all operations in one transaction; any failure rolls all of them back.
    @discardableResult
    public func batch(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [MemoryOperationResult] {
        enum Prepared {
            case put(PreparedPut)
            case delete(String, Int?, String?)
            case append(String, JSONValue, AppendOptions)
        }
        let prepared: [Prepared] = try operations.map { operation in
            switch operation {
            case .put(let key, let value, let options): return .put(try limits.prepare(key: key, value: value, options: options))
            case .delete(let key, let ifVersion, let author):
                try limits.validate(key: key)
                return .delete(key, ifVersion, author)
            case .append(let key, let value, let options):
                try limits.validate(key: key)
                return .append(key, value, options)
            }
        }
        let now = clock()
        return try await write { db in
            try prepared.map { operation in
                switch operation {
                case .put(let put): return .put(try self.applyPut(put, in: namespace, now: now, db: db))
                case .delete(let key, let ifVersion, let author):
                    return .delete(try self.applyDelete(key, ifVersion: ifVersion, author: author, in: namespace, now: now, db: db))
                case .append(let key, let value, let options):
                    return .put(try self.applyAppend(key, value: value, options: options, in: namespace, now: now, db: db))
                }
            }
        }
    }

    /// Deletes every expired record now (reads already ignore them); returns how many.
    @discardableResult
    public func purgeExpired() async throws -> Int {
        let now = clock().timeIntervalSince1970
        return try await write { db in
            try db.execute(sql: "DELETE FROM memory_records WHERE expires_at IS NOT NULL AND expires_at <= ?", arguments: [now])
            return db.changesCount
        }
    }

    // MARK: - Internals

    private struct Current {
        let id: Int64
        let version: Int
        let createdAt: Double
        let author: String?
        let size: Int
        let expiresAt: Double?
        let valueJSON: String
    }

    private func current(_ key: String, in namespace: Namespace, now: Date, db: Database) throws -> Current? {
        let statement = try db.cachedStatement(sql: """
            SELECT id, version, created_at, author, expires_at, size, value FROM memory_records WHERE namespace = ? AND key = ?
            """)
        guard let row = try Row.fetchOne(statement, arguments: [namespace.name, key]) else { return nil }
        let id: Int64 = row["id"]
        if let expiresAt: Double = row["expires_at"], expiresAt <= now.timeIntervalSince1970 {
            try db.cachedStatement(sql: "DELETE FROM memory_records WHERE id = ?").execute(arguments: [id])
            return nil
        }
        return Current(
            id: id, version: row["version"], createdAt: row["created_at"], author: row["author"], size: row["size"],
            expiresAt: row["expires_at"], valueJSON: row["value"])
    }

    private func applyPut(
        _ put: PreparedPut, in namespace: Namespace, now: Date, db: Database,
        operation: MemoryChange.Operation = .put, keepExpiry: Date? = nil, known: Current?? = nil
    ) throws -> MemoryRecord {
        let existing = try known ?? current(put.key, in: namespace, now: now, db: db)
        if let expected = put.options.ifVersion, expected != (existing?.version ?? 0) {
            throw MemoryError.conflict(key: put.key, expected: expected, current: existing?.version ?? 0, author: existing?.author)
        }
        let size = put.key.utf8.count + put.valueBytes
        if limits.hasQuota {
            try checkQuota(namespace: namespace, adding: existing == nil ? 1 : 0, bytesDelta: size - (existing?.size ?? 0), now: now, db: db)
        }
        let timestamp = now.timeIntervalSince1970
        let expiresAt = keepExpiry ?? put.options.expiry(from: now)
        let version = (existing?.version ?? 0) + 1
        if let existing {
            try db.cachedStatement(sql: """
                UPDATE memory_records SET value = ?, version = ?, updated_at = ?, author = ?, expires_at = ?, size = ?
                WHERE id = ?
                """).execute(arguments: [put.json, version, timestamp, put.options.author, expiresAt?.timeIntervalSince1970, size, existing.id])
        } else {
            try db.cachedStatement(sql: """
                INSERT INTO memory_records (namespace, key, value, version, created_at, updated_at, author, expires_at, size)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [namespace.name, put.key, put.json, version, timestamp, timestamp, put.options.author, expiresAt?.timeIntervalSince1970, size])
        }
        try log(put.key, operation, version: version, author: put.options.author, in: namespace, now: now, db: db)
        return MemoryRecord(
            key: put.key, value: put.value, version: version,
            createdAt: existing.map { Date(timeIntervalSince1970: $0.createdAt) } ?? Date(timeIntervalSince1970: timestamp),
            updatedAt: Date(timeIntervalSince1970: timestamp), author: put.options.author,
            expiresAt: expiresAt.map { Date(timeIntervalSince1970: $0.timeIntervalSince1970) })
    }

    private func applyAppend(
        _ key: String, value: JSONValue, options: AppendOptions, in namespace: Namespace, now: Date, db: Database
    ) throws -> MemoryRecord {
        let existing = try current(key, in: namespace, now: now, db: db)
        let currentValue = try existing.map { try JSONValue(parsing: $0.valueJSON) }
        let combined = try options.appending(value, to: currentValue, key: key)
        let prepared = try limits.prepare(key: key, value: combined, options: PutOptions(ifVersion: options.ifVersion, author: options.author))
        return try applyPut(
            prepared, in: namespace, now: now, db: db, operation: .append,
            keepExpiry: existing?.expiresAt.map { Date(timeIntervalSince1970: $0) }, known: .some(existing))
    }

    /// Appends one entry to the namespace's change log, numbered from the namespace's counter
    /// (SQLite has one writer at a time, so numbers follow commit order), and now and then
    /// prunes the log.
    private func log(
        _ key: String, _ operation: MemoryChange.Operation, version: Int, author: String?, in namespace: Namespace,
        now: Date, db: Database
    ) throws {
        let sequence = try Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO memory_namespaces (namespace, last_sequence) VALUES (?, 1)
            ON CONFLICT (namespace) DO UPDATE SET last_sequence = last_sequence + 1
            RETURNING last_sequence
            """), arguments: [namespace.name])!
        try db.cachedStatement(sql: """
            INSERT INTO memory_changes (namespace, sequence, key, operation, version, author, time) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [namespace.name, sequence, key, operation.rawValue, version, author, now.timeIntervalSince1970])
        let due = writesSincePrune.withLock { count -> Bool in
            count += 1
            guard count >= 1000 else { return false }
            count = 0
            return true
        }
        if due { try pruneChanges(now: now, db: db) }
    }

    /// Drops change-log entries beyond the retention policy.
    public func pruneChangeLog() async throws {
        let now = clock()
        try await write { db in try self.pruneChanges(now: now, db: db) }
    }

    private func pruneChanges(now: Date, db: Database) throws {
        if let cutoff = retention.cutoff(at: now) {
            try db.execute(sql: "DELETE FROM memory_changes WHERE time < ?", arguments: [cutoff.timeIntervalSince1970])
        }
        if let maxEntries = retention.maxEntriesPerNamespace {
            for row in try Row.fetchAll(db, sql: "SELECT namespace, last_sequence FROM memory_namespaces") {
                let last: Int64 = row["last_sequence"]
                let namespace: String = row["namespace"]
                try db.execute(
                    sql: "DELETE FROM memory_changes WHERE namespace = ? AND sequence <= ?",
                    arguments: [namespace, last - Int64(maxEntries)])
            }
        }
    }

    private func applyDelete(_ key: String, ifVersion: Int?, author: String?, in namespace: Namespace, now: Date, db: Database) throws -> Bool {
        let existing = try current(key, in: namespace, now: now, db: db)
        if let expected = ifVersion, expected != (existing?.version ?? 0) {
            throw MemoryError.conflict(key: key, expected: expected, current: existing?.version ?? 0, author: existing?.author)
        }
        guard let existing else { return false }
        try db.cachedStatement(sql: "DELETE FROM memory_records WHERE id = ?").execute(arguments: [existing.id])
        try log(key, .delete, version: existing.version, author: author, in: namespace, now: now, db: db)
        return true
    }

    private func checkQuota(namespace: Namespace, adding keys: Int, bytesDelta: Int, now: Date, db: Database) throws {
        func usage() throws -> (keys: Int, bytes: Int) {
            let row = try Row.fetchOne(
                db, sql: "SELECT COUNT(*) AS keys, COALESCE(SUM(size), 0) AS bytes FROM memory_records WHERE namespace = ?",
                arguments: [namespace.name])!
            return (row["keys"], row["bytes"])
        }
        var (currentKeys, currentBytes) = try usage()
        do {
            try limits.validateQuota(namespace: namespace, keysAfter: currentKeys + keys, bytesAfter: currentBytes + bytesDelta)
        } catch {
            // Expired records still count until purged: purge this namespace's and look again.
            try db.execute(
                sql: "DELETE FROM memory_records WHERE namespace = ? AND expires_at IS NOT NULL AND expires_at <= ?",
                arguments: [namespace.name, now.timeIntervalSince1970])
            guard db.changesCount > 0 else { throw error }
            (currentKeys, currentBytes) = try usage()
            try limits.validateQuota(namespace: namespace, keysAfter: currentKeys + keys, bytesAfter: currentBytes + bytesDelta)
        }
    }

    private static func change(_ row: Row) -> MemoryChange {
        MemoryChange(
            sequence: row["sequence"], key: row["key"], operation: MemoryChange.Operation(rawValue: row["operation"]),
            version: row["version"], author: row["author"], time: Date(timeIntervalSince1970: row["time"]))
    }

    /// A record from a row whose first columns are key, value, version, created_at,
    /// updated_at, author, expires_at (read by position: faster than by name).
    static func record(_ row: Row) throws -> MemoryRecord {
        let json: String = row[1]
        return MemoryRecord(
            key: row[0],
            value: try JSONValue(parsing: json),
            version: row[2],
            createdAt: Date(timeIntervalSince1970: row[3]),
            updatedAt: Date(timeIntervalSince1970: row[4]),
            author: row[5],
            expiresAt: (row[6] as Double?).map { Date(timeIntervalSince1970: $0) })
    }

    /// The smallest byte string greater than every string that starts with `prefix`.
    static func upperBound(ofPrefix prefix: String) -> Data? {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return Data(bytes)
            }
            bytes.removeLast()
        }
        return nil
    }

    /// Reads on the calling thread: a WAL reader never waits for writers, and skipping the hop
    /// to GRDB's queue makes a `get` several times faster.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try readOnCallingThread(body)
        } catch let error as MemoryError {
            throw error
        } catch {
            throw MemoryError(.storage, "SQLite read failed (\(path)): \(Self.describe(error))")
        }
    }

    /// GRDB's synchronous read (from a synchronous context, so the async overload is not chosen).
    private func readOnCallingThread<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writer.write(body)
        } catch let error as MemoryError {
            throw error
        } catch {
            throw MemoryError(.storage, "SQLite write failed (\(path)): \(Self.describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? error.description }
        return String(describing: error)
    }
}

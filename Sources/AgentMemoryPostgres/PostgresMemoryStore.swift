import AgentMemoryCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The shared store for crews on several machines: one PostgreSQL database, through a
/// connection pool (PostgresNIO).
///
/// - Schema: values as `jsonb` (plus their exact JSON text), keys `text COLLATE "C"` so they
///   compare and sort byte for byte, named migrations applied under an advisory lock.
/// - Time: timestamps and expiry come from the database clock, so machines with skewed
///   clocks agree. An injected `clock` replaces it (for tests); production leaves it `nil`.
/// - Concurrency: every write locks its namespace's counter row first, then reads the record
///   `FOR UPDATE`, checks `ifVersion`, writes and logs in one transaction. Writers of one
///   namespace therefore commit one after another, sequence numbers follow commit order, and
///   compare-and-set, append and batches are atomic across processes and machines.
/// - Change feed: each logged change sends `pg_notify` in its transaction; ``watch(in:since:)``
///   listens and reads the log after each notification (polling if `LISTEN` fails).
/// - Search: a generated `tsvector` column (English stemming, keys weighted double) with a
///   GIN index, ranked by `ts_rank`, snippets by `ts_headline`.
/// - Errors: a server that cannot be reached fails with ``MemoryError/Code/unavailable``
///   within `connectTimeout`, naming `host:port`; the password is never printed.
///
/// Opening does no I/O: the first operation connects and migrates. Call ``shutdown()`` when
/// done (dropping the last reference also closes the pool).
public final class PostgresMemoryStore: MemoryStore {
    /// Where the store is (the password is redacted in its description).
    public let url: PostgresStoreURL
    /// The limits enforced on every write.
    public let limits: MemoryLimits
    /// How long the change log is kept.
    public let retention: ChangeLogRetention
    /// How long to wait for a connection before failing with ``MemoryError/Code/unavailable``.
    public let connectTimeout: Duration

    private let clock: (@Sendable () -> Date)?
    private let logger: Logger
    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let connectionConfiguration: PostgresConnection.Configuration
    private let setup = Mutex<Task<Void, any Error>?>(nil)
    private let writesSincePrune = Mutex(0)
    private static let connectionIDs = Atomic<Int>(1_000_000)

    /// Opens the store at a `postgres://` or `postgresql://` URL (see ``PostgresStoreURL``).
    ///
    /// Throws ``MemoryError/Code/invalidLocation`` for a malformed URL. Nothing is connected
    /// yet; an unreachable server is reported by the first operation.
    ///
    /// - Parameters:
    ///   - maxConnections: the pool's size.
    ///   - clock: overrides the database clock (tests); `nil` in production.
    ///   - logger: where PostgresNIO logs; nothing is logged by default.
    public convenience init(
        url: String,
        limits: MemoryLimits = .default,
        retention: ChangeLogRetention = .default,
        connectTimeout: Duration = .seconds(5),
        maxConnections: Int = 10,
        clock: (@Sendable () -> Date)? = nil,
        logger: Logger? = nil
    ) throws {
        try self.init(
            url: try PostgresStoreURL(parsing: url), limits: limits, retention: retention, connectTimeout: connectTimeout,
            maxConnections: maxConnections, clock: clock, logger: logger)
    }

    /// Opens the store at a parsed ``PostgresStoreURL``; the other parameters are those of the `String` initializer.
    public init(
        url: PostgresStoreURL,
        limits: MemoryLimits = .default,
        retention: ChangeLogRetention = .default,
        connectTimeout: Duration = .seconds(5),
        maxConnections: Int = 10,
        clock: (@Sendable () -> Date)? = nil,
        logger: Logger? = nil
    ) throws {
        guard connectTimeout > .zero else {
            throw MemoryError(.invalidArgument, "connectTimeout must be positive, got \(connectTimeout)")
        }
        guard maxConnections >= 1 else {
            throw MemoryError(.invalidArgument, "maxConnections must be at least 1, got \(maxConnections)")
        }
        guard PostgresStoreURL.isValidSchema(url.schema) else {
            throw MemoryError(.invalidLocation, "Invalid PostgreSQL schema \"\(url.schema)\": use 1 to 40 lower-case letters, digits or _")
        }
        self.url = url
        self.limits = limits
        self.retention = retention
        self.connectTimeout = connectTimeout
        self.clock = clock
        let logger = logger ?? Logger(label: "agent-memory.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        self.logger = logger
        let startup = [("search_path", url.schema), ("application_name", "agent-memory")]

        var clientConfiguration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: url.clientTLS())
        clientConfiguration.options.connectTimeout = connectTimeout
        clientConfiguration.options.maximumConnections = maxConnections
        clientConfiguration.options.additionalStartupParameters = startup
        if url.tls == .verifyFull { clientConfiguration.options.tlsServerName = url.host }
        client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)

        do {
            var configuration = PostgresConnection.Configuration(
                host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
                tls: try url.connectionTLS())
            configuration.options.connectTimeout = .nanoseconds(Self.nanoseconds(connectTimeout))
            configuration.options.additionalStartupParameters = startup
            if url.tls == .verifyFull { configuration.options.tlsServerName = url.host }
            connectionConfiguration = configuration
        } catch {
            throw MemoryError(.invalidLocation, "Cannot set up TLS for \(url): \(PostgresErrorText.describe(error))")
        }
        let client = self.client
        runTask = Task { await client.run() }
    }

    deinit {
        runTask.cancel()
    }

    /// Closes the pool and waits for its connections to close; the store cannot be used after.
    public func shutdown() async {
        runTask.cancel()
        await runTask.value
    }

    /// Connects and applies the migrations now (every operation does this first, once);
    /// throws ``MemoryError/Code/unavailable`` naming `host:port` when that fails.
    public func connect() async throws {
        let task = setup.withLock { current -> Task<Void, any Error> in
            if let current { return current }
            let created = Task { try await self.migrate() }
            current = created
            return created
        }
        do {
            try await task.value
        } catch {
            // Try again next time: the server may come up later.
            setup.withLock { current in
                if current == task { current = nil }
            }
            throw error
        }
    }

    private func migrate() async throws {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: connectionConfiguration, id: Self.connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
        } catch {
            throw unavailable(error)
        }
        do {
            try await PostgresMigrations.migrate(connection, schema: url.schema, logger: logger)
        } catch {
            try? await connection.close()
            throw MemoryError(
                .storage, "Cannot prepare the PostgreSQL store \(url): the migrations failed: \(PostgresErrorText.describe(error))")
        }
        try? await connection.close()
    }

    private func unavailable(_ error: any Error) -> MemoryError {
        if PostgresErrorText.serverAnswered(error) {
            return MemoryError(
                .unavailable,
                "Cannot open the PostgreSQL store \(url): the server at \(url.endpoint) refused the connection: \(PostgresErrorText.describe(error))")
        }
        return MemoryError(
            .unavailable,
            "Cannot open the PostgreSQL store \(url): the server at \(url.endpoint) is unreachable (\(PostgresErrorText.describe(error)))")
    }

    // MARK: - MemoryStore: reads

    /// The live record under `key`, or `nil`.
    public func get(_ key: String, in namespace: Namespace) async throws -> MemoryRecord? {
        try limits.validate(key: key)
        let now = clockSeconds()
        return try await read { session in
            var binds = StatementBinds()
            let sql = """
                SELECT \(Self.recordColumns) FROM memory_records
                WHERE namespace = \(binds.text(namespace.name)) AND key = \(binds.text(key))
                  AND (expires_at IS NULL OR expires_at > \(binds.now(now)))
                """
            return try await session.rows(sql, binds).first.map { try Self.record($0.makeRandomAccess()) }
        }
    }

    /// A page of live records in key byte order (the "C" collation compares bytes).
    public func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        try ListCursor.validate(limit: limit)
        let after = try cursor.map(ListCursor.decode)
        let now = clockSeconds()
        var records = try await read { session in
            var binds = StatementBinds()
            var sql = """
                SELECT \(Self.recordColumns) FROM memory_records
                WHERE namespace = \(binds.text(namespace.name)) AND (expires_at IS NULL OR expires_at > \(binds.now(now)))
                """
            if let after { sql += " AND key > \(binds.text(after))" }
            if let prefix, !prefix.isEmpty {
                sql += " AND key >= \(binds.text(prefix))"
                if let upper = Self.upperBound(ofPrefix: prefix) { sql += " AND key < \(binds.text(upper))" }
            }
            sql += " ORDER BY key LIMIT \(binds.int(limit + 1))"
            return try await session.rows(sql, binds).map { try Self.record($0.makeRandomAccess()) }
        }
        var next: String?
        if records.count > limit {
            records.removeLast()
            next = records.last.map { ListCursor.encode(afterKey: $0.key) }
        }
        return MemoryPage(records: records, nextCursor: next)
    }

    /// Namespaces with live records, by name (byte order).
    public func namespaces() async throws -> [NamespaceSummary] {
        let now = clockSeconds()
        return try await read { session in
            var binds = StatementBinds()
            let sql = """
                SELECT namespace, count(*) FROM memory_records
                WHERE expires_at IS NULL OR expires_at > \(binds.now(now)) GROUP BY namespace ORDER BY namespace
                """
            return try await session.rows(sql, binds).map { row in
                let (name, count) = try row.decode((String, Int).self)
                return NamespaceSummary(namespace: try Namespace(name), recordCount: count)
            }
        }
    }

    /// Changes after `since`, oldest first.
    public func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] {
        try ListCursor.validate(limit: limit)
        return try await read { session in
            var binds = StatementBinds()
            let sql = """
                SELECT \(Self.changeColumns) FROM memory_changes
                WHERE namespace = \(binds.text(namespace.name)) AND sequence > \(binds.int(since))
                ORDER BY sequence LIMIT \(binds.int(limit))
                """
            return try await session.rows(sql, binds).map(Self.change)
        }
    }

    /// The retained changes of `key`, oldest first.
    public func history(of key: String, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] {
        try limits.validate(key: key)
        try ListCursor.validate(limit: limit)
        return try await read { session in
            var binds = StatementBinds()
            let sql = """
                SELECT \(Self.changeColumns) FROM memory_changes
                WHERE namespace = \(binds.text(namespace.name)) AND key = \(binds.text(key))
                ORDER BY sequence DESC LIMIT \(binds.int(limit))
                """
            return try await session.rows(sql, binds).map(Self.change).reversed()
        }
    }

    // MARK: - MemoryStore: writes

    /// Creates or replaces `key` in one transaction; see ``MemoryStore/put(_:value:in:options:)``.
    @discardableResult
    public func put(_ key: String, value: JSONValue, in namespace: Namespace, options: PutOptions) async throws -> MemoryRecord {
        let prepared = try limits.prepare(key: key, value: value, options: options)
        return try await write(in: namespace) { session, now in
            try await self.applyPut(prepared, in: namespace, now: now, session: session)
        }
    }

    /// Deletes `key`; see ``MemoryStore/delete(_:in:ifVersion:author:)``.
    @discardableResult
    public func delete(_ key: String, in namespace: Namespace, ifVersion: Int?, author: String?) async throws -> Bool {
        try limits.validate(key: key)
        return try await write(in: namespace) { session, now in
            try await self.applyDelete(key, ifVersion: ifVersion, author: author, in: namespace, now: now, session: session)
        }
    }

    /// Appends in one transaction; see ``MemoryStore/append(_:value:in:options:)``.
    @discardableResult
    public func append(_ key: String, value: JSONValue, in namespace: Namespace, options: AppendOptions) async throws -> MemoryRecord {
        try limits.validate(key: key)
        return try await write(in: namespace) { session, now in
            try await self.applyAppend(key, value: value, options: options, in: namespace, now: now, session: session)
        }
    }

    /// Applies all operations in one transaction; any failure rolls all of them back.
    @discardableResult
    public func batch(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [MemoryOperationResult] {
        enum Prepared: Sendable {
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
        guard !prepared.isEmpty else { return [] }
        return try await write(in: namespace) { session, now in
            var results: [MemoryOperationResult] = []
            for operation in prepared {
                switch operation {
                case .put(let put):
                    results.append(.put(try await self.applyPut(put, in: namespace, now: now, session: session)))
                case .delete(let key, let ifVersion, let author):
                    results.append(.delete(try await self.applyDelete(
                        key, ifVersion: ifVersion, author: author, in: namespace, now: now, session: session)))
                case .append(let key, let value, let options):
                    results.append(.put(try await self.applyAppend(
                        key, value: value, options: options, in: namespace, now: now, session: session)))
                }
            }
            return results
        }
    }

    /// Deletes every expired record now (reads already ignore them); returns how many.
    @discardableResult
    public func purgeExpired() async throws -> Int {
        let now = clockSeconds()
        return try await read { session in
            var binds = StatementBinds()
            let sql = """
                WITH purged AS (
                    DELETE FROM memory_records WHERE expires_at IS NOT NULL AND expires_at <= \(binds.now(now)) RETURNING 1
                ) SELECT count(*) FROM purged
                """
            return try await session.rows(sql, binds).first?.decode(Int.self) ?? 0
        }
    }

    /// Drops change-log entries beyond the retention policy (also done every 1,000 writes).
    public func pruneChangeLog() async throws {
        let now = clockSeconds()
        try await read { session in
            if let maxAge = self.retention.maxAge {
                var binds = StatementBinds()
                let seconds = Double(Self.nanoseconds(maxAge)) / 1e9
                try await session.rows(
                    "DELETE FROM memory_changes WHERE time < \(binds.now(now)) - make_interval(secs => \(binds.double(seconds)))",
                    binds)
            }
            if let maxEntries = self.retention.maxEntriesPerNamespace {
                var binds = StatementBinds()
                try await session.rows("""
                    DELETE FROM memory_changes c USING memory_namespaces n
                    WHERE c.namespace = n.namespace AND c.sequence <= n.last_sequence - \(binds.int(maxEntries))
                    """, binds)
            }
        }
    }

    // MARK: - Internals: writing

    private struct Current: Sendable {
        let version: Int
        let createdAt: Double
        let author: String?
        let size: Int
        let expiresAt: Double?
        let valueJSON: String
    }

    /// The record under `key`, locked for this transaction; an expired one is deleted and
    /// reported as missing.
    private func current(_ key: String, in namespace: Namespace, now: Double, session: PostgresSession) async throws -> Current? {
        var binds = StatementBinds()
        let namespaceParameter = binds.text(namespace.name)
        let keyParameter = binds.text(key)
        let sql = """
            SELECT version, extract(epoch FROM created_at)::float8, author, size, extract(epoch FROM expires_at)::float8, value_text
            FROM memory_records WHERE namespace = \(namespaceParameter) AND key = \(keyParameter) FOR UPDATE
            """
        guard let row = try await session.rows(sql, binds).first else { return nil }
        let (version, createdAt, author, size, expiresAt, valueJSON) = try row.decode((Int, Double, String?, Int, Double?, String).self)
        if let expiresAt, expiresAt <= now {
            var deleteBinds = StatementBinds()
            try await session.rows(
                "DELETE FROM memory_records WHERE namespace = \(deleteBinds.text(namespace.name)) AND key = \(deleteBinds.text(key))",
                deleteBinds)
            return nil
        }
        return Current(version: version, createdAt: createdAt, author: author, size: size, expiresAt: expiresAt, valueJSON: valueJSON)
    }

    private func applyPut(
        _ put: PreparedPut, in namespace: Namespace, now: Double, session: PostgresSession,
        operation: MemoryChange.Operation = .put, keepExpiry: Double? = nil, known: Current?? = nil
    ) async throws -> MemoryRecord {
        let existing: Current?
        if let known { existing = known } else { existing = try await current(put.key, in: namespace, now: now, session: session) }
        if let expected = put.options.ifVersion, expected != (existing?.version ?? 0) {
            throw MemoryError.conflict(key: put.key, expected: expected, current: existing?.version ?? 0, author: existing?.author)
        }
        let size = put.key.utf8.count + put.valueBytes
        if limits.hasQuota {
            try await checkQuota(
                namespace: namespace, adding: existing == nil ? 1 : 0, bytesDelta: size - (existing?.size ?? 0), now: now, session: session)
        }
        let expiresAt = keepExpiry ?? put.options.expiry(from: Date(timeIntervalSince1970: now))?.timeIntervalSince1970
        let version = (existing?.version ?? 0) + 1
        var binds = StatementBinds()
        let namespaceParameter = binds.text(namespace.name)
        let keyParameter = binds.text(put.key)
        let json = binds.text(put.json)
        let sql: String
        if existing != nil {
            sql = """
                UPDATE memory_records SET value = \(json)::jsonb, value_text = \(json), version = \(binds.int(version)),
                    updated_at = \(binds.time(now)), author = \(binds.text(put.options.author)),
                    expires_at = \(binds.time(expiresAt)), size = \(binds.int(size))
                WHERE namespace = \(namespaceParameter) AND key = \(keyParameter)
                """
        } else {
            let nowParameter = binds.time(now)
            sql = """
                INSERT INTO memory_records (namespace, key, value, value_text, version, created_at, updated_at, author, expires_at, size)
                VALUES (\(namespaceParameter), \(keyParameter), \(json)::jsonb, \(json), \(binds.int(version)), \(nowParameter),
                        \(nowParameter), \(binds.text(put.options.author)), \(binds.time(expiresAt)), \(binds.int(size)))
                """
        }
        try await session.rows(sql, binds)
        try await log(put.key, operation, version: version, author: put.options.author, in: namespace, now: now, session: session)
        return MemoryRecord(
            key: put.key, value: put.value, version: version,
            createdAt: Date(timeIntervalSince1970: existing?.createdAt ?? now),
            updatedAt: Date(timeIntervalSince1970: now), author: put.options.author,
            expiresAt: expiresAt.map { Date(timeIntervalSince1970: $0) })
    }

    private func applyAppend(
        _ key: String, value: JSONValue, options: AppendOptions, in namespace: Namespace, now: Double, session: PostgresSession
    ) async throws -> MemoryRecord {
        let existing = try await current(key, in: namespace, now: now, session: session)
        let currentValue = try existing.map { try JSONValue(parsing: $0.valueJSON) }
        let combined = try options.appending(value, to: currentValue, key: key)
        let prepared = try limits.prepare(key: key, value: combined, options: PutOptions(ifVersion: options.ifVersion, author: options.author))
        return try await applyPut(
            prepared, in: namespace, now: now, session: session, operation: .append, keepExpiry: existing?.expiresAt,
            known: .some(existing))
    }

    private func applyDelete(
        _ key: String, ifVersion: Int?, author: String?, in namespace: Namespace, now: Double, session: PostgresSession
    ) async throws -> Bool {
        let existing = try await current(key, in: namespace, now: now, session: session)
        if let expected = ifVersion, expected != (existing?.version ?? 0) {
            throw MemoryError.conflict(key: key, expected: expected, current: existing?.version ?? 0, author: existing?.author)
        }
        guard let existing else { return false }
        var binds = StatementBinds()
        try await session.rows(
            "DELETE FROM memory_records WHERE namespace = \(binds.text(namespace.name)) AND key = \(binds.text(key))", binds)
        try await log(key, .delete, version: existing.version, author: author, in: namespace, now: now, session: session)
        return true
    }

    /// Appends one entry to the change log with the namespace's next sequence number, and
    /// notifies listeners when the transaction commits.
    private func log(
        _ key: String, _ operation: MemoryChange.Operation, version: Int, author: String?, in namespace: Namespace,
        now: Double, session: PostgresSession
    ) async throws {
        var binds = StatementBinds()
        let namespaceParameter = binds.text(namespace.name)
        let sql = """
            WITH next AS (
                UPDATE memory_namespaces SET last_sequence = last_sequence + 1 WHERE namespace = \(namespaceParameter)
                RETURNING last_sequence
            ), logged AS (
                INSERT INTO memory_changes (namespace, sequence, key, operation, version, author, time)
                SELECT \(namespaceParameter), last_sequence, \(binds.text(key)), \(binds.text(operation.rawValue)),
                       \(binds.int(version)), \(binds.text(author)), \(binds.time(now))
                FROM next RETURNING sequence
            )
            SELECT pg_notify(\(binds.text(Self.channel(schema: url.schema))), sequence::text || ' ' || \(namespaceParameter)) FROM logged
            """
        let rows = try await session.rows(sql, binds)
        guard rows.count == 1 else {
            throw MemoryError(.storage, "PostgreSQL store \(url): the change log of namespace \"\(namespace)\" has no counter row")
        }
    }

    private func checkQuota(namespace: Namespace, adding keys: Int, bytesDelta: Int, now: Double, session: PostgresSession) async throws {
        func usage() async throws -> (keys: Int, bytes: Int) {
            var binds = StatementBinds()
            let rows = try await session.rows(
                "SELECT count(*), COALESCE(sum(size), 0)::bigint FROM memory_records WHERE namespace = \(binds.text(namespace.name))",
                binds)
            return try rows[0].decode((Int, Int).self)
        }
        var (currentKeys, currentBytes) = try await usage()
        do {
            try limits.validateQuota(namespace: namespace, keysAfter: currentKeys + keys, bytesAfter: currentBytes + bytesDelta)
        } catch {
            // Expired records still count until purged: purge this namespace's and look again.
            var binds = StatementBinds()
            let purged = try await session.rows("""
                DELETE FROM memory_records WHERE namespace = \(binds.text(namespace.name))
                  AND expires_at IS NOT NULL AND expires_at <= \(binds.time(now)) RETURNING 1
                """, binds)
            guard !purged.isEmpty else { throw error }
            (currentKeys, currentBytes) = try await usage()
            try limits.validateQuota(namespace: namespace, keysAfter: currentKeys + keys, bytesAfter: currentBytes + bytesDelta)
        }
    }

    // MARK: - Internals: connections and transactions

    /// The injected clock's time, rounded to PostgreSQL's microseconds; `nil` to use the
    /// database clock.
    func clockSeconds() -> Double? {
        clock.map { Self.microseconds($0().timeIntervalSince1970) }
    }

    private static func microseconds(_ seconds: Double) -> Double {
        (seconds * 1_000_000).rounded() / 1_000_000
    }

    /// Runs `body` on a pooled connection outside a transaction (one statement per call is
    /// atomic on its own).
    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) async throws -> T) async throws -> T {
        try await connect()
        return try await withSession(body)
    }

    /// Runs `body` in a transaction that first locks the namespace's counter row, so writers
    /// of one namespace run one at a time and commit in sequence order. `body` gets the
    /// transaction's time (the injected clock's, else the database's `clock_timestamp()` once
    /// the lock is held).
    private func write<T: Sendable>(
        in namespace: Namespace, _ body: @escaping @Sendable (PostgresSession, Double) async throws -> T
    ) async throws -> T {
        try await connect()
        let injected = clockSeconds()
        let result = try await withSession { session in
            try await session.execute("BEGIN")
            do {
                var binds = StatementBinds()
                let rows = try await session.rows("""
                    INSERT INTO memory_namespaces (namespace, last_sequence) VALUES (\(binds.text(namespace.name)), 0)
                    ON CONFLICT (namespace) DO UPDATE SET last_sequence = memory_namespaces.last_sequence
                    RETURNING extract(epoch FROM clock_timestamp())::float8
                    """, binds)
                let now = try injected ?? rows[0].decode(Double.self)
                let value = try await body(session, now)
                try await session.execute("COMMIT")
                return value
            } catch {
                do {
                    try await session.execute("ROLLBACK")
                } catch {
                    // The connection is in an unknown state: do not give it back to the pool.
                    let _: EventLoopFuture<Void> = session.connection.close()
                }
                throw error
            }
        }
        let due = writesSincePrune.withLock { count -> Bool in
            count += 1
            guard count >= 1000 else { return false }
            count = 0
            return true
        }
        if due { try? await pruneChangeLog() }
        return result
    }

    /// Leases a pooled connection for `body`, failing with ``MemoryError/Code/unavailable``
    /// when none can be had within ``connectTimeout`` (the pool itself would keep retrying),
    /// and turns PostgresNIO errors into ``MemoryError``s.
    private func withSession<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) async throws -> T) async throws -> T {
        let flag = LeaseFlag()
        let client = self.client
        let logger = self.logger
        let timeout = connectTimeout
        let unreachable = MemoryError(
            .unavailable,
            "The PostgreSQL server at \(url.endpoint) is unreachable: no connection within \(Self.secondsText(timeout)) "
                + "(or every pooled connection stayed busy that long) (\(url))")
        do {
            return try await withThrowingTaskGroup(of: Optional<T>.self) { group in
                group.addTask {
                    try await client.withConnection { connection in
                        flag.set()
                        return try await body(PostgresSession(connection: connection, logger: logger))
                    }
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    if !flag.isSet { throw unreachable }
                    return nil
                }
                while let next = try await group.next() {
                    if let value = next {
                        group.cancelAll()
                        return value
                    }
                }
                throw CancellationError()
            }
        } catch let error as MemoryError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            if PostgresErrorText.isConnectionFailure(error) {
                throw MemoryError(
                    .unavailable, "The PostgreSQL server at \(url.endpoint) is unreachable: \(PostgresErrorText.describe(error)) (\(url))")
            }
            throw MemoryError(.storage, "PostgreSQL store \(url) failed: \(PostgresErrorText.describe(error))")
        }
    }

    // MARK: - Internals: watching

    /// The notification channel of this store's schema.
    static func channel(schema: String) -> String {
        schema == "public" ? "agent_memory_changes" : "agent_memory_changes.\(schema)"
    }

    /// Every change after `since`, then each new one as its notification arrives; see
    /// ``MemoryStore/watch(in:since:)``. Falls back to polling when `LISTEN` fails.
    public func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await self.follow(namespace, since: since, into: continuation)
                    continuation.finish()
                } catch is CancellationError {
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func follow(
        _ namespace: Namespace, since: Int64, into continuation: AsyncThrowingStream<MemoryChange, any Error>.Continuation
    ) async throws {
        let last = WatchPosition(since)
        let catchUp = { @Sendable in try await self.deliver(namespace, after: last, into: continuation) }
        try await connect()
        do {
            let connection = try await PostgresConnection.connect(
                configuration: connectionConfiguration, id: Self.connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
            do {
                try await withTaskCancellationHandler {
                    try await connection.listen(on: Self.channel(schema: url.schema)) { notifications in
                        // Listening from here on: read what came before, then follow.
                        try await catchUp()
                        for try await notification in notifications {
                            guard let space = notification.payload.firstIndex(of: " "),
                                  let sequence = Int64(notification.payload[..<space]),
                                  notification.payload[notification.payload.index(after: space)...] == namespace.name,
                                  sequence > last.sequence
                            else { continue }
                            try await catchUp()
                        }
                    }
                } onCancel: {
                    let _: EventLoopFuture<Void> = connection.close()
                }
                try? await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch let error as MemoryError {
            throw error
        } catch {
            if Task.isCancelled { return }
            // LISTEN failed or the listening connection was lost: poll instead.
            logger.debug("agent-memory: LISTEN failed, polling the change log", metadata: ["error": "\(PostgresErrorText.describe(error))"])
        }
        while !Task.isCancelled {
            try await catchUp()
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Yields the changes after `position`, advancing it.
    private func deliver(
        _ namespace: Namespace, after position: WatchPosition, into continuation: AsyncThrowingStream<MemoryChange, any Error>.Continuation
    ) async throws {
        while true {
            let batch = try await changes(in: namespace, since: position.sequence, limit: 500)
            for change in batch { continuation.yield(change) }
            if let sequence = batch.last?.sequence { position.sequence = sequence }
            if batch.count < 500 { return }
        }
    }

    // MARK: - Internals: rows

    static let recordColumns = """
        key, value_text, version, extract(epoch FROM created_at)::float8 AS created, \
        extract(epoch FROM updated_at)::float8 AS updated, author, extract(epoch FROM expires_at)::float8 AS expires
        """
    static let recordColumnNames = "key, value_text, version, created, updated, author, expires"
    private static let changeColumns = "sequence, key, operation, version, author, extract(epoch FROM time)::float8"

    static func record(_ cells: PostgresRandomAccessRow) throws -> MemoryRecord {
        MemoryRecord(
            key: try cells[0].decode(String.self),
            value: try JSONValue(parsing: try cells[1].decode(String.self)),
            version: try cells[2].decode(Int.self),
            createdAt: Date(timeIntervalSince1970: try cells[3].decode(Double.self)),
            updatedAt: Date(timeIntervalSince1970: try cells[4].decode(Double.self)),
            author: try cells[5].decode(String?.self),
            expiresAt: try cells[6].decode(Double?.self).map { Date(timeIntervalSince1970: $0) })
    }

    private static func change(_ row: PostgresRow) throws -> MemoryChange {
        let (sequence, key, operation, version, author, time) = try row.decode((Int64, String, String, Int, String?, Double).self)
        return MemoryChange(
            sequence: sequence, key: key, operation: MemoryChange.Operation(rawValue: operation), version: version, author: author,
            time: Date(timeIntervalSince1970: time))
    }

    /// The smallest string greater than every string that starts with `prefix`, in byte order
    /// (the last scalar incremented, so the bound stays valid UTF-8); `nil` when there is none.
    static func upperBound(ofPrefix prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var next = last.value + 1
            if (0xD800...0xDFFF).contains(next) { next = 0xE000 }
            if let scalar = Unicode.Scalar(next) {
                scalars.append(scalar)
                var text = ""
                text.unicodeScalars.append(contentsOf: scalars)
                return text
            }
        }
        return nil
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    private static func secondsText(_ duration: Duration) -> String {
        let seconds = Double(nanoseconds(duration)) / 1e9
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}

/// The last sequence a watcher delivered.
private final class WatchPosition: Sendable {
    private let value: Mutex<Int64>
    init(_ sequence: Int64) { value = Mutex(sequence) }
    var sequence: Int64 {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

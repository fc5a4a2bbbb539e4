import AgentMemoryCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

extension PostgresMemoryStore {
    /// Connects and applies the migrations now (every operation does this first, once);
    /// throws ``MemoryError/Code/unavailable`` naming `host:port` when that fails, or when the
    /// store is closed.
    public func connect() async throws {
        try checkOpen()
        let task = setup.withLock { current -> Task<Void, any Error> in
            if let current { return current }
            let created = Task { try await self.prepareSchema() }
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
        lifecycle.withLock { $0.ready = true }
    }

    /// Applies the pending migrations: on a connection of the store's own when it made its
    /// pool (so that a refused login is told apart from an unreachable server), else on a
    /// leased one, after checking that the given client's connections use the store's schema.
    private func prepareSchema() async throws {
        guard case .owned(_, let configuration) = connections else {
            try await retrying { try await self.withSession { session in
                try await self.migrate(session.connection)
                let rows = try await session.rows("SELECT current_schema()::text")
                let current = try rows.first?.decode(String?.self) ?? nil
                guard current == self.schema else {
                    throw MemoryError(
                        .invalidArgument,
                        "The given PostgresClient's connections use schema \(current ?? "(none)"), the store's is \(self.schema): "
                            + "put search_path=\(self.schema) in the client's additionalStartupParameters")
                }
            } }
            return
        }
        let connection: PostgresConnection
        var schemaIsCurrent = false
        if let early = await takeAhead() {
            connection = early.connection
            schemaIsCurrent = early.schemaIsCurrent
        } else {
            do {
                connection = try await PostgresConnection.connect(
                    configuration: configuration, id: Self.connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
            } catch {
                throw unavailable(error)
            }
        }
        do {
            if !schemaIsCurrent { try await migrate(connection) }
        } catch {
            try? await connection.close()
            throw error
        }
        // Kept for the statements that follow: a process that makes one call (the CLI) then
        // opens one connection, not two.
        if lifecycle.withLock({ $0.closed }) || !giveBackSpare(connection) {
            try? await connection.close()
        }
    }

    /// Takes the store's own idle connection, if it has one that is open.
    private func takeSpare() -> PostgresConnection? {
        spare.withLock { spare in
            defer { spare = nil }
            return spare.flatMap { $0.isClosed ? nil : $0 }
        }
    }

    /// Puts the store's own connection back after use; whether it was kept (not when it is
    /// closed, or another took its place).
    @discardableResult
    private func giveBackSpare(_ connection: PostgresConnection) -> Bool {
        guard !connection.isClosed, !lifecycle.withLock({ $0.closed }) else { return false }
        return spare.withLock { spare in
            guard spare == nil else { return false }
            spare = connection
            return true
        }
    }

    /// Closes the store's own idle connection (``close()``).
    func closeSpare() async {
        if let connection = spare.withLock({ spare in defer { spare = nil }; return spare }) {
            try? await connection.close()
        }
    }

    /// How long a migration statement may take: it waits on the advisory lock while other
    /// processes migrate the same schema, which under load outlasts a normal statement's limit.
    static let migrationTimeout: Duration = .seconds(300)

    private func migrate(_ connection: PostgresConnection) async throws {
        do {
            let timeout = max(statementTimeout, Self.migrationTimeout)
            try await PostgresMigrations.migrate(
                PostgresSession(connection: connection, logger: logger, statements: statements, timeout: timeout), schema: schema)
        } catch {
            throw MemoryError(
                .storage, "Cannot prepare the PostgreSQL store \(location): the migrations failed: \(PostgresErrorText.describe(error))")
        }
    }

    private func unavailable(_ error: any Error) -> MemoryError {
        if PostgresErrorText.serverAnswered(error) {
            return MemoryError(
                .unavailable,
                "Cannot open the PostgreSQL store \(location): the server at \(endpoint) refused the connection: \(PostgresErrorText.describe(error))")
        }
        return MemoryError(
            .unavailable,
            "Cannot open the PostgreSQL store \(location): the server at \(endpoint) is unreachable (\(PostgresErrorText.describe(error)))")
    }

    // MARK: - Time

    /// The injected clock's time, rounded to PostgreSQL's microseconds; `nil` to use the
    /// database clock.
    func clockSeconds() -> Double? {
        clock.map { Self.microseconds($0().timeIntervalSince1970) }
    }

    static func microseconds(_ seconds: Double) -> Double {
        (seconds * 1_000_000).rounded() / 1_000_000
    }

    // MARK: - Sessions and transactions

    /// How many times a call is tried when its connection is lost where trying again is safe.
    static let attempts = 3
    /// How many connections found dead at once (``staleFailureWindow``) a call passes over
    /// without counting them as tries: more than a pool holds.
    static let staleConnections = 32
    /// How soon after an attempt starts its connection's failure counts as a dead idle
    /// connection's rather than as a try.
    static let staleFailureWindow = Duration.milliseconds(250)

    /// Runs `body` on a pooled connection outside a transaction, each statement committing on
    /// its own: the reads, and maintenance's idempotent deletes. When the connection is lost,
    /// `body` runs again on another one (up to ``attempts`` times), which both are safe to do.
    func autocommit<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) async throws -> T) async throws -> T {
        try await connect()
        return try await retrying { try await self.withSession(body) }
    }

    /// Runs `body` in a transaction that first locks the namespace's counter row, so writers
    /// of one namespace run one at a time and commit in sequence order. `body` gets the
    /// transaction's writer and its time: the injected clock's, else the database's
    /// `clock_timestamp()` once the lock is held, read by the locking statement itself. The
    /// writer's deferred statements are sent before `COMMIT`.
    ///
    /// A connection lost before `COMMIT` was sent leaves nothing written (the server rolls
    /// the transaction back), so the transaction runs again from the start on another
    /// connection; one lost while `COMMIT` was in flight leaves the outcome unknown, which
    /// the caller is told (``MemoryError/Code/unavailable``) rather than guessed.
    func transaction<T: Sendable>(
        in namespace: Namespace, _ body: @escaping @Sendable (PostgresTransactionWriter, Date) async throws -> T
    ) async throws -> T {
        try await connect()
        let injected = clockSeconds()
        let channel = Self.channel(schema: schema)
        return try await retrying {
            try await self.withSession { session in
                try await session.execute("BEGIN")
                do {
                    let rows = try await session.rows("""
                        INSERT INTO memory_namespaces (namespace, last_sequence) VALUES (\(namespace.name), 0)
                        ON CONFLICT (namespace) DO UPDATE SET last_sequence = memory_namespaces.last_sequence
                        RETURNING extract(epoch FROM clock_timestamp())::float8
                        """)
                    let seconds = try injected ?? rows[0].decode(Double.self)
                    let writer = PostgresTransactionWriter(session: session, namespace: namespace, channel: channel)
                    let value = try await body(writer, Date(timeIntervalSince1970: seconds))
                    try await writer.flush()
                    do {
                        try await session.execute("COMMIT")
                    } catch let lost as StatementLost where lost.neverSent {
                        throw lost
                    } catch where PostgresErrorText.isConnectionFailure(error) {
                        throw CommitOutcomeUnknown(underlying: error)
                    }
                    return value
                } catch {
                    try? await Self.rollBack(session)
                    throw error
                }
            }
        }
    }

    /// Runs `body` without a transaction or lock, on the rows of `keys` read in one statement
    /// (the values of `valueKeys` too), then sends its writes as one autocommit statement that
    /// applies them only if no key moved meanwhile (see ``OptimisticWriteStatement``), then
    /// confirms the commit: PostgresNIO ends a statement at its `CommandComplete`, but in the
    /// extended protocol an implicit transaction commits only at the `Sync` after it
    /// (PostgreSQL's `postgres.c`, `exec_execute_message` and `exec_sync`), so a backend ended
    /// between the two (`pg_terminate_backend`) rolled back a write this store had acknowledged
    /// (the crew contention test caught a counter one short of its acknowledged increments).
    /// The write therefore sets a session setting to a token of its own, and a statement queued
    /// right behind it on the same connection reads the setting back (``CommitToken``): the
    /// token is there only if the write's transaction committed, and when the confirmation is
    /// not answered the write's outcome is unknown. Three round trips instead of the locked
    /// transaction's five, the third sent by the event loop as soon as the write's answer
    /// arrives, without a trip back through the calling task.
    /// Returns `nil` when a key moved or the write needs the lock (a quota count): nothing was
    /// written, so the caller runs ``transaction(in:_:)``.
    ///
    /// With `planned` rows (a staged batch's commit, ``PostgresTransactionWriter/plannedRows(_:)``),
    /// the rows are not read: the write is checked against them, one round trip fewer; on `nil`
    /// the caller tries again with the read.
    ///
    /// `body` gets the writer and the time: the injected clock's, else the database's, read by
    /// the reading statement. A connection lost before the write statement was answered, or
    /// before the commit was confirmed, leaves its outcome unknown, which the caller is told,
    /// as for a lost `COMMIT`.
    func optimisticWrite<T: Sendable>(
        in namespace: Namespace, keys: [MemoryKey], valueKeys: [MemoryKey], assuming planned: [MemoryKey: RecordStamp?]? = nil,
        _ body: @escaping @Sendable (PostgresTransactionWriter, Date) async throws -> T
    ) async throws -> T? {
        try await connect()
        let injected = clockSeconds()
        let channel = Self.channel(schema: schema)
        let written = try await retrying {
            try await self.withSession { session -> T? in
                let writer = PostgresTransactionWriter(session: session, namespace: namespace, channel: channel, mode: .optimistic)
                let clock: Double?
                if let planned {
                    // The plans carry their times; the body reads the clock only for expiry,
                    // and no planned row has one.
                    writer.assume(planned)
                    clock = Date().timeIntervalSince1970
                } else {
                    clock = try await writer.load(keys, withValues: valueKeys)
                }
                guard let seconds = injected ?? clock else { return nil }
                let value: T
                do {
                    value = try await body(writer, Date(timeIntervalSince1970: seconds))
                } catch is OptimisticWriteConflict {
                    return nil
                }
                do {
                    // Sends the write and, right behind it, the statement whose answer confirms
                    // that it committed (``StatementGuard/rowsConfirmingCommit(token:on:timeout:logger:_:)``).
                    try await writer.flush()
                } catch is OptimisticWriteConflict {
                    return nil
                } catch let unknown as CommitOutcomeUnknown {
                    // The write completed, its commit was not confirmed.
                    throw unknown
                } catch let lost as StatementLost where lost.neverSent {
                    throw lost
                } catch let failed as PSQLError where failed.serverInfo != nil {
                    // The server failed the statement (a killed backend says so before it
                    // goes): an implicit transaction commits only after its statement
                    // completed, so nothing was written and trying again is safe.
                    throw failed
                } catch where PostgresErrorText.isConnectionFailure(error) {
                    // Lost with the statement in flight: it may have committed.
                    throw CommitOutcomeUnknown(underlying: error)
                }
                return value
            }
        }
        if written == nil, planned != nil {
            logger.debug(
                "planned write read its rows again (a key moved since the batch read it)",
                metadata: ["namespace": "\(namespace.name)", "keys": "\(keys.count)"])
        } else if written == nil {
            logger.debug(
                "optimistic write fell back to the namespace lock (a key moved, or the write needs a count)",
                metadata: ["namespace": "\(namespace.name)", "keys": "\(keys.count)"])
        }
        return written
    }

    /// Rolls back the session's transaction; a connection that is gone needs nothing (the
    /// server ended the transaction with the session), one that fails to roll back is closed
    /// rather than given back to the pool in an unknown state.
    private static func rollBack(_ session: PostgresSession) async throws {
        guard !session.connection.isClosed else { return }
        do {
            try await session.execute("ROLLBACK")
        } catch {
            let _: EventLoopFuture<Void> = session.connection.close()
        }
    }

    /// Runs `attempt`, again when it failed because its connection was lost (up to
    /// ``attempts`` times in all, not after a statement timeout: that waited long enough; a
    /// connection found dead at once, ``staleFailureWindow``, is not counted), and turns the
    /// final error into a ``MemoryError``.
    private func retrying<T: Sendable>(_ attempt: () async throws -> T) async throws -> T {
        var tries = 0
        var unsent = 0
        var stale = 0
        while true {
            let began = ContinuousClock.now
            do {
                return try await attempt()
            } catch let lost as StatementLost where lost.neverSent && unsent < 100 && !Task.isCancelled {
                // A pooled connection that closed before the pool heard of it: nothing was
                // sent, so this does not count as a try; let the pool catch up.
                unsent += 1
                try await Task.sleep(for: .milliseconds(10))
                continue
            } catch where Self.isRetryable(error) && ContinuousClock.now - began < Self.staleFailureWindow
                && stale < Self.staleConnections && !Task.isCancelled
            {
                // A pooled connection that died while idle (a restarted server, a killed
                // backend, an idle timeout: every idle connection at once) fails the first
                // statement sent on it straight away, before the pool hears that it closed.
                // That says nothing of the server, so it does not count as a try either:
                // counted, three such connections handed out in a row failed the call with
                // "unreachable" while the server was up. Trying again is as safe as for a
                // counted try (the same errors qualify); after the first few, a pause lets
                // the pool catch up.
                stale += 1
                if stale > 4 { try await Task.sleep(for: .milliseconds(10)) }
                continue
            } catch {
                tries += 1
                if tries < Self.attempts, Self.isRetryable(error), !Task.isCancelled {
                    logger.debug(
                        "agent-memory: connection lost, trying again",
                        metadata: ["error": "\(PostgresErrorText.describe(error))", "attempt": "\(tries + 1)"])
                    continue
                }
                throw storeError(error)
            }
        }
    }

    private static func isRetryable(_ error: any Error) -> Bool {
        if let lost = error as? StatementLost, case .timedOut = lost.reason { return false }
        return PostgresErrorText.isConnectionFailure(error)
    }

    /// The ``MemoryError`` a call fails with.
    private func storeError(_ error: any Error) -> any Error {
        switch error {
        case is MemoryError, is CancellationError:
            return error
        case let unknown as CommitOutcomeUnknown:
            return MemoryError(
                .unavailable,
                "The connection to the PostgreSQL server at \(endpoint) was lost while committing "
                    + "(\(PostgresErrorText.describe(unknown.underlying))): the write may or may not have been applied; "
                    + "read the keys to find out (\(location))")
        default:
            if PostgresErrorText.isConnectionFailure(error) {
                return MemoryError(
                    .unavailable, "The PostgreSQL server at \(endpoint) is unreachable: \(PostgresErrorText.describe(error)) (\(location))")
            }
            return MemoryError(.storage, "PostgreSQL store \(location) failed: \(PostgresErrorText.describe(error))")
        }
    }

    /// Leases a pooled connection for `body`, failing with ``MemoryError/Code/unavailable``
    /// when none can be had within ``connectTimeout`` (the pool itself would keep retrying).
    /// Other errors are passed on as they are (``retrying(_:)`` turns them into
    /// ``MemoryError``s).
    func withSession<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) async throws -> T) async throws -> T {
        if let connection = takeSpare() {
            let session = PostgresSession(
                connection: connection, logger: logger, statements: statements, timeout: statementTimeout, prepares: preparesStatements)
            do {
                let value = try await body(session)
                if !giveBackSpare(connection) { try? await connection.close() }
                return value
            } catch {
                if !giveBackSpare(connection) { try? await connection.close() }
                throw error
            }
        }
        let flag = LeaseFlag()
        let client = self.client
        let logger = self.logger
        let statements = self.statements
        let statementTimeout = self.statementTimeout
        let prepares = preparesStatements
        let timeout = connectTimeout
        let unreachable = MemoryError(
            .unavailable,
            "The PostgreSQL server at \(endpoint) is unreachable: no connection within \(Self.secondsText(timeout)) "
                + "(or every pooled connection stayed busy that long) (\(location))")
        return try await withThrowingTaskGroup(of: Optional<T>.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    flag.set()
                    return try await body(PostgresSession(
                        connection: connection, logger: logger, statements: statements, timeout: statementTimeout, prepares: prepares))
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
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    static func secondsText(_ duration: Duration) -> String {
        let seconds = Double(nanoseconds(duration)) / 1e9
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}

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
            try await withSession { session in
                try await self.migrate(session.connection)
                let rows = try await session.rows("SELECT current_schema()::text")
                let current = try rows.first?.decode(String?.self) ?? nil
                guard current == self.schema else {
                    throw MemoryError(
                        .invalidArgument,
                        "The given PostgresClient's connections use schema \(current ?? "(none)"), the store's is \(self.schema): "
                            + "put search_path=\(self.schema) in the client's additionalStartupParameters")
                }
            }
            return
        }
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: configuration, id: Self.connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
        } catch {
            throw unavailable(error)
        }
        do {
            try await migrate(connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    private func migrate(_ connection: PostgresConnection) async throws {
        do {
            try await PostgresMigrations.migrate(connection, schema: schema, logger: logger)
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

    /// Runs `body` on a pooled connection outside a transaction (one statement per call is
    /// atomic on its own).
    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) async throws -> T) async throws -> T {
        try await connect()
        return try await withSession(body)
    }

    /// Runs `body` in a transaction that first locks the namespace's counter row, so writers
    /// of one namespace run one at a time and commit in sequence order. `body` gets the
    /// transaction's writer and its time: the injected clock's, else the database's
    /// `clock_timestamp()` once the lock is held, read by the locking statement itself. The
    /// writer's deferred statements are sent before `COMMIT`.
    func transaction<T: Sendable>(
        in namespace: Namespace, _ body: @escaping @Sendable (PostgresTransactionWriter, Date) async throws -> T
    ) async throws -> T {
        try await connect()
        let injected = clockSeconds()
        let channel = Self.channel(schema: schema)
        return try await withSession { session in
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
    }

    /// Leases a pooled connection for `body`, failing with ``MemoryError/Code/unavailable``
    /// when none can be had within ``connectTimeout`` (the pool itself would keep retrying),
    /// and turns PostgresNIO errors into ``MemoryError``s.
    func withSession<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) async throws -> T) async throws -> T {
        let flag = LeaseFlag()
        let client = self.client
        let logger = self.logger
        let timeout = connectTimeout
        let unreachable = MemoryError(
            .unavailable,
            "The PostgreSQL server at \(endpoint) is unreachable: no connection within \(Self.secondsText(timeout)) "
                + "(or every pooled connection stayed busy that long) (\(location))")
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
                    .unavailable, "The PostgreSQL server at \(endpoint) is unreachable: \(PostgresErrorText.describe(error)) (\(location))")
            }
            throw MemoryError(.storage, "PostgreSQL store \(location) failed: \(PostgresErrorText.describe(error))")
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

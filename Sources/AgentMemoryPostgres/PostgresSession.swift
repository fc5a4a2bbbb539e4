import AgentMemoryCore
import Foundation
import PostgresNIO

/// Collects the parameters of one SQL statement whose text depends on its input: each `bind`
/// appends a value and returns its placeholder with an explicit cast (so a `NULL` has a
/// type), and a placeholder can be used more than once in the text.
///
/// Statements of a fixed shape use PostgresNIO's interpolated `PostgresQuery` instead; this
/// remains for search, whose text differs with the clock (`now()` or the injected time).
struct StatementBinds {
    private(set) var binds = PostgresBindings()

    mutating func text(_ value: String?) -> String {
        binds.append(value)
        return "$\(binds.count)::text"
    }

    mutating func int(_ value: Int64?) -> String {
        binds.append(value)
        return "$\(binds.count)::bigint"
    }

    mutating func int(_ value: Int) -> String {
        int(Int64(value))
    }

    mutating func texts(_ values: [String]) -> String {
        binds.append(values)
        return "$\(binds.count)::text[]"
    }

    mutating func double(_ value: Double?) -> String {
        binds.append(value)
        return "$\(binds.count)::float8"
    }

    /// A point in time given as seconds since 1970 (PostgreSQL rounds it to microseconds).
    mutating func time(_ seconds: Double?) -> String {
        "to_timestamp(\(double(seconds)))"
    }

    /// "Now": the injected clock's time when there is one, else the database's clock.
    mutating func now(_ injected: Double?) -> String {
        injected.map { time($0) } ?? "now()"
    }

    func query(_ sql: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: sql, binds: binds)
    }
}

/// One leased connection, for running statements: each one ends with its rows, its error,
/// or ``StatementLost`` (see ``StatementGuard``).
struct PostgresSession: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    let statements: StatementGuard
    /// How long a statement may go unanswered before its connection is given up.
    let timeout: Duration
    /// Whether ``PreparedQuery`` statements are prepared on the connection (else each is sent
    /// whole, in one round trip; ``PostgresMemoryStore/preparesStatements``).
    var prepares = true

    /// Runs a statement and returns all of its rows.
    @discardableResult
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await statements.rows(query, on: connection, logger: logger, timeout: timeout)
    }

    /// Runs a statement that is prepared once per connection (see ``PreparedQuery``).
    @discardableResult
    func rows<Statement: PostgresPreparedStatement>(prepared statement: Statement) async throws -> [PostgresRow]
    where Statement.Row == PostgresRow {
        guard prepares else { return try await rows(try Self.unprepared(statement)) }
        return try await statements.rows(prepared: statement, on: connection, logger: logger, timeout: timeout)
    }

    /// `statement` as a statement sent whole (parsed, bound and run in one round trip).
    private static func unprepared<Statement: PostgresPreparedStatement>(_ statement: Statement) throws -> PostgresQuery {
        PostgresQuery(unsafeSQL: Statement.sql, binds: try statement.makeBindings())
    }

    /// Runs a prepared autocommit statement that sets ``CommitToken``'s setting to `token`,
    /// and confirms that it committed (see
    /// ``StatementGuard/rowsConfirmingCommit(token:on:timeout:logger:_:)``).
    @discardableResult
    func rowsConfirmingCommit<Statement: PostgresPreparedStatement>(prepared statement: Statement, token: String) async throws -> [PostgresRow]
    where Statement.Row == PostgresRow {
        guard prepares else {
            let query = try Self.unprepared(statement)
            let logger = logger
            return try await statements.rowsConfirmingCommit(token: token, on: connection, timeout: timeout, logger: logger) {
                try await $0.query(query, logger: logger).collect()
            }
        }
        return try await statements.rowsConfirmingCommit(token: token, on: connection, timeout: timeout, logger: logger) {
            var rows: [PostgresRow] = []
            for try await row in try await $0.execute(statement, logger: logger) { rows.append(row) }
            return rows
        }
    }

    /// Runs a statement built with `binds`.
    @discardableResult
    func rows(_ sql: String, _ binds: StatementBinds) async throws -> [PostgresRow] {
        try await rows(binds.query(sql))
    }

    /// Runs a constant statement without parameters (`BEGIN`, `COMMIT`, `ROLLBACK`).
    func execute(_ sql: String) async throws {
        try await rows(PostgresQuery(unsafeSQL: sql))
    }
}

/// Set once a pooled connection has been leased, so the lease deadline can tell a slow
/// query (fine) from a server that cannot be reached (an error).
final class LeaseFlag: Sendable {
    private let leased = Locked(false)
    func set() { leased.withLock { $0 = true } }
    var isSet: Bool { leased.withLock { $0 } }
}

enum PostgresErrorText {
    /// A readable reason for a PostgresNIO, NIO or system error, without credentials.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return message + state
            }
            if let underlying = error.underlying { return describe(underlying) }
            return "\(error.code)"
        }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describe(first.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve \(error.host): \(describe(dns))" }
            return "cannot connect to \(error.host):\(error.port)"
        }
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode)).lowercased()
        }
        if let error = error as? ChannelError, case .connectTimeout(let amount) = error {
            return "no answer within \(Double(amount.nanoseconds) / 1e9) s"
        }
        return String(describing: error)
    }

    /// Whether the server answered (authentication failed, unknown database, ...) rather than
    /// not being reachable at all.
    static func serverAnswered(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo != nil
    }

    /// Whether the error says the connection to the server is gone or could not be made.
    static func isConnectionFailure(_ error: any Error) -> Bool {
        if error is StatementLost { return true }
        guard let error = error as? PSQLError else { return error is NIOConnectionError || error is IOError || error is ChannelError }
        // The server ended the session: 57P01 (pg_terminate_backend, a fast shutdown), 57P02
        // (a crash), 57P03 (starting up or shutting down), 57P05 (idle timeout), 08xxx.
        if let state = error.serverInfo?[.sqlState] {
            return state.hasPrefix("57P") || state.hasPrefix("08")
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown,
             .sslUnsupported, .failedToAddSSLHandler:
            return true
        default:
            return false
        }
    }
}

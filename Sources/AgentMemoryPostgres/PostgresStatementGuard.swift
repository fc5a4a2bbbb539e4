import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Makes every statement the store runs end: with its rows, its error, or ``StatementLost``.
///
/// PostgresNIO hands a statement to its connection's channel with `write(_:promise: nil)`.
/// When that write reaches the channel after the channel has closed (the server ended the
/// session: `pg_terminate_backend`, a restart, a network failure noticed late), NIO has removed
/// the channel's handlers already, the write is dropped, and the statement's promise is never
/// completed: its caller would wait for ever. A pooled connection is exposed to this between
/// the server closing it and the pool hearing of the close, and a transaction is exposed to it
/// on every statement after the first.
///
/// So each statement runs in a task of its own while its caller waits on a continuation that
/// one of three things resumes first: the statement's own result; the connection's close (a
/// grace period after it, for results already on their way); or the statement deadline, which
/// also closes the connection (a server that stopped answering, such as one behind a broken
/// network, gives no close to notice). The close is watched once per connection.
final class StatementGuard: Sendable {
    /// How long after a connection's close its unanswered statements are given up. Statements
    /// the connection had sent are failed by PostgresNIO before the close completes; this only
    /// lets their results reach their tasks first.
    static let closeGrace = TimeAmount.milliseconds(500)

    private struct State {
        var nextID = 0
        /// The statements waiting on each watched connection (an entry lives until its close).
        var connections: [ObjectIdentifier: [Int: StatementOutcome]] = [:]
    }

    private let state = Mutex(State())

    /// Runs `query` on `connection` and collects its rows; throws ``StatementLost`` when the
    /// connection is closed already, closes before the answer, or gives no answer within
    /// `timeout` (then the connection is closed, so the pool drops it).
    func rows(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger, timeout: Duration) async throws -> [PostgresRow] {
        try await run(on: connection, timeout: timeout) { try await $0.query(query, logger: logger).collect() }
    }

    /// Runs a prepared statement as ``rows(_:on:logger:timeout:)`` runs a query (PostgresNIO
    /// prepares it on the connection's first use, then only binds and executes it).
    func rows<Statement: PostgresPreparedStatement>(
        prepared statement: Statement, on connection: PostgresConnection, logger: Logger, timeout: Duration
    ) async throws -> [PostgresRow] where Statement.Row == PostgresRow {
        try await run(on: connection, timeout: timeout) { connection in
            var rows: [PostgresRow] = []
            for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
            return rows
        }
    }

    private func run(
        on connection: PostgresConnection, timeout: Duration,
        _ statement: @escaping @Sendable (PostgresConnection) async throws -> [PostgresRow]
    ) async throws -> [PostgresRow] {
        guard !connection.isClosed else { throw StatementLost(.closedBeforeSending) }
        let outcome = StatementOutcome()
        let key = ObjectIdentifier(connection)
        let (id, firstStatement) = state.withLock { state -> (Int, Bool) in
            let id = state.nextID
            state.nextID &+= 1
            let first = state.connections[key] == nil
            state.connections[key, default: [:]][id] = outcome
            return (id, first)
        }
        if firstStatement {
            // Registered once per connection: a callback per statement would pile up on a
            // connection that lives long.
            connection.closeFuture.whenComplete { [self] _ in
                connection.eventLoop.scheduleTask(in: Self.closeGrace) { self.closed(key) }
            }
        }
        defer { _ = state.withLock { $0.connections[key]?.removeValue(forKey: id) } }
        let deadline = connection.eventLoop.scheduleTask(in: .nanoseconds(PostgresMemoryStore.nanoseconds(timeout))) {
            if outcome.finish(.failure(StatementLost(.timedOut(timeout)))) {
                let _: EventLoopFuture<Void> = connection.close()
            }
        }
        Task {
            let result: Result<[PostgresRow], any Error>
            do {
                result = .success(try await statement(connection))
            } catch {
                result = .failure(error)
            }
            _ = outcome.finish(result)
        }
        defer { deadline.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            outcome.attach(continuation)
        }
    }

    /// Gives up the statements still waiting on a closed connection and forgets it.
    private func closed(_ key: ObjectIdentifier) {
        let waiting = state.withLock { $0.connections.removeValue(forKey: key) } ?? [:]
        for outcome in waiting.values { _ = outcome.finish(.failure(StatementLost(.closed))) }
    }
}

/// A statement that has no result: its connection was closed before it was sent, closed
/// before it was answered, or gave no answer within the statement timeout.
struct StatementLost: Error, CustomStringConvertible {
    enum Reason: Sendable {
        case closedBeforeSending
        case closed
        case timedOut(Duration)
    }

    let reason: Reason

    init(_ reason: Reason) { self.reason = reason }

    /// Whether the server cannot have run the statement.
    var neverSent: Bool {
        if case .closedBeforeSending = reason { return true }
        return false
    }

    var description: String {
        switch reason {
        case .closedBeforeSending: return "the connection was closed before the statement was sent"
        case .closed: return "the connection was closed before the statement was answered"
        case .timedOut(let timeout): return "no answer within \(PostgresMemoryStore.secondsText(timeout)) (the connection was closed)"
        }
    }
}

/// The connection was lost while `COMMIT` was in flight: the transaction may have committed
/// or not.
struct CommitOutcomeUnknown: Error {
    let underlying: any Error
}

/// The result of one guarded statement, delivered once to the one continuation waiting for
/// it, whichever of the statement, the close and the deadline comes first.
private final class StatementOutcome: Sendable {
    private enum State {
        case pending
        case waiting(CheckedContinuation<[PostgresRow], any Error>)
        case finished(Result<[PostgresRow], any Error>)
        case delivered
    }

    private let state = Mutex(State.pending)

    /// Sets the result unless one was set; whether this call set it.
    func finish(_ result: Result<[PostgresRow], any Error>) -> Bool {
        let continuation = state.withLock { state -> CheckedContinuation<[PostgresRow], any Error>?? in
            switch state {
            case .pending:
                state = .finished(result)
                return .some(nil)
            case .waiting(let continuation):
                state = .delivered
                return .some(continuation)
            case .finished, .delivered:
                return nil
            }
        }
        guard let continuation else { return false }
        continuation?.resume(with: result)
        return true
    }

    /// Hands over the continuation to resume, at once when the result is known already.
    func attach(_ continuation: CheckedContinuation<[PostgresRow], any Error>) {
        let known = state.withLock { state -> Result<[PostgresRow], any Error>? in
            switch state {
            case .pending:
                state = .waiting(continuation)
                return nil
            case .finished(let result):
                state = .delivered
                return result
            case .waiting, .delivered:
                preconditionFailure("a statement outcome has one continuation")
            }
        }
        if let known { continuation.resume(with: known) }
    }
}

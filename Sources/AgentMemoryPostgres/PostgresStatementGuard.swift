import AgentMemoryCore
import Foundation
import Logging
import PostgresNIO

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
///
/// Deadlines are kept by one timer per connection on its event loop (the "watchdog"), not one
/// per statement: scheduling and cancelling a timer from outside the event loop wakes the loop
/// each time, two wake-ups per statement on top of the statement's own write. The watchdog is
/// set for the earliest deadline of the connection's waiting statements; when it fires it gives
/// up the statements past their deadline and sets itself for the next one, so a deadline is
/// kept as exactly as before. A statement only schedules a timer when none is set for an
/// earlier time (the first statement after an idle spell, or a shorter timeout).
final class StatementGuard: Sendable {
    /// How long after a connection's close its unanswered statements are given up. Statements
    /// the connection had sent are failed by PostgresNIO before the close completes; this only
    /// lets their results reach their tasks first.
    static let closeGrace = TimeAmount.milliseconds(500)

    private struct State {
        var nextID = 0
        /// Numbers the watched connections, so that a watchdog never acts on a later connection
        /// that happens to reuse a closed one's address.
        var nextGeneration = 0
        /// Each watched connection (an entry lives until its close).
        var connections: [ObjectIdentifier: Watched] = [:]
    }

    /// One watched connection: its waiting statements and when its watchdog is set to fire.
    private struct Watched {
        let generation: Int
        var waiting: [Int: Waiting] = [:]
        /// The earliest time a watchdog is scheduled for; `nil` when none is. Never later than
        /// a waiting statement's deadline.
        var watchdog: NIODeadline?
    }

    private struct Waiting {
        let outcome: StatementOutcome
        let deadline: NIODeadline
        let timeout: Duration
        /// The waiting task's priority, the one its result's way through the pool runs at.
        let priority: TaskPriority
    }

    private let state = Locked(State())

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

    /// Runs the autocommit statement `send` starts on the connection (prepared, or sent whole),
    /// which ends by setting ``CommitToken``'s session setting to `token`, and confirms that it
    /// committed, as one guarded statement; `send` returns the statement's rows.
    ///
    /// The statement is started first; as soon as it has been handed to the connection (it is
    /// started in a task of its own that runs synchronously until it waits for the answer), the
    /// setting is read by a statement queued behind it, which PostgresNIO sends from the event
    /// loop when the write's `ReadyForQuery` arrives, without waiting for this task. When that
    /// read answers `token`, the write's transaction committed: a setting changed in a
    /// transaction that rolls back is undone. When it answers anything else, `SELECT 1` is sent
    /// once the write has completed, as before. That happens when the read was not sent after
    /// the write: on a prepared statement's first use on a connection PostgresNIO prepares it
    /// first and queues its execution after the preparation, so the read goes out between the
    /// two (the server's log shows it for every new connection; nothing here relies on the
    /// order; a statement sent whole has no preparation, so its read always follows it); or
    /// when it went to another server session, as behind a pooler in transaction mode.
    /// PostgresNIO sends that `SELECT 1` only after the write's `ReadyForQuery`, and closes the
    /// connection on an error that follows a completed statement, so an answer means the write
    /// committed.
    ///
    /// Throws the statement's own error when it failed (then its implicit transaction rolled
    /// back), ``CommitOutcomeUnknown`` when it completed but its commit could not be confirmed,
    /// and ``StatementLost`` as ``rows(_:on:logger:timeout:)`` does.
    func rowsConfirmingCommit(
        token: String, on connection: PostgresConnection, timeout: Duration, logger: Logger,
        _ send: @escaping @Sendable (PostgresConnection) async throws -> [PostgresRow]
    ) async throws -> [PostgresRow] {
        try await run(on: connection, timeout: timeout) { connection in
            let write = Task.immediate { try await send(connection) }
            let confirmation: EventLoopFuture<PostgresQueryResult> = connection.query(CommitToken.confirmation, logger: logger)
            // On the statement's error the confirmation is left to finish on its own: nothing
            // was committed, and PostgresNIO runs queued statements in order.
            let rows = try await write.value
            let answer: String?
            do {
                answer = try await confirmation.get().rows.first?.decode(String?.self) ?? nil
            } catch {
                throw CommitOutcomeUnknown(underlying: error)
            }
            if answer == token { return rows }
            guard !connection.isClosed else { throw CommitOutcomeUnknown(underlying: StatementLost(.closed)) }
            do {
                let _: PostgresQueryResult = try await connection.query(PostgresQuery(unsafeSQL: "SELECT 1"), logger: logger).get()
            } catch {
                throw CommitOutcomeUnknown(underlying: error)
            }
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
        let deadline = NIODeadline.now() + .nanoseconds(PostgresMemoryStore.nanoseconds(timeout))
        let (id, generation, firstStatement, setWatchdog) = state.withLock { state -> (Int, Int, Bool, Bool) in
            let id = state.nextID
            state.nextID &+= 1
            let first = state.connections[key] == nil
            if first {
                state.connections[key] = Watched(generation: state.nextGeneration)
                state.nextGeneration &+= 1
            }
            let waiting = Waiting(outcome: outcome, deadline: deadline, timeout: timeout, priority: Task.currentPriority)
            state.connections[key]!.waiting[id] = waiting
            let set = state.connections[key]!.watchdog.map { deadline < $0 } ?? true
            if set { state.connections[key]!.watchdog = deadline }
            return (id, state.connections[key]!.generation, first, set)
        }
        if firstStatement {
            // Registered once per connection: a callback per statement would pile up on a
            // connection that lives long.
            connection.closeFuture.whenComplete { [self] _ in
                connection.eventLoop.scheduleTask(in: Self.closeGrace) { self.closed(key) }
            }
        }
        if setWatchdog { scheduleWatchdog(for: connection, key: key, generation: generation, at: deadline) }
        defer { _ = state.withLock { $0.connections[key]?.waiting.removeValue(forKey: id) } }
        Task {
            let result: Result<[PostgresRow], any Error>
            do {
                result = .success(try await statement(connection))
            } catch {
                result = .failure(error)
            }
            _ = outcome.finish(result)
        }
        return try await withCheckedThrowingContinuation { continuation in
            outcome.attach(continuation)
        }
    }

    private func scheduleWatchdog(for connection: PostgresConnection, key: ObjectIdentifier, generation: Int, at deadline: NIODeadline) {
        connection.eventLoop.scheduleTask(deadline: deadline) { [weak connection, self] in
            self.watchdogFired(connection, key: key, generation: generation)
        }
    }

    /// Gives up the connection's statements that are past their deadline (and closes the
    /// connection, so the pool drops it), then sets the watchdog for the next deadline unless
    /// one is set already.
    private func watchdogFired(_ connection: PostgresConnection?, key: ObjectIdentifier, generation: Int) {
        let now = NIODeadline.now()
        let (expired, next) = state.withLock { state -> ([Waiting], NIODeadline?) in
            guard var watched = state.connections[key], watched.generation == generation else { return ([], nil) }
            let expired = watched.waiting.values.filter { $0.deadline <= now }
            let pending = watched.waiting.values.lazy.filter { $0.deadline > now }.map(\.deadline).min()
            var next: NIODeadline?
            if let set = watched.watchdog, set > now {
                // Another watchdog is scheduled for `set`, no later than any waiting deadline.
            } else {
                watched.watchdog = pending
                next = pending
            }
            state.connections[key] = watched
            return (expired, next)
        }
        var timedOut = false
        for waiting in expired where waiting.outcome.finish(.failure(StatementLost(.timedOut(waiting.timeout)))) {
            timedOut = true
        }
        guard let connection else { return }
        if timedOut {
            let _: EventLoopFuture<Void> = connection.close()
        }
        if let next { scheduleWatchdog(for: connection, key: key, generation: generation, at: next) }
    }

    /// Forgets a closed connection and gives up the statements still waiting on it, once the
    /// tasks that carry results to them have had their turn.
    ///
    /// PostgresNIO fails every statement it was handed before the close completes, but the
    /// failure reaches ``StatementOutcome`` through jobs on Swift's global executor (the
    /// statement's task, the task awaiting it, with hops through the event loop between). An
    /// executor kept busy by other work (two threads on a two-core machine) can hold those
    /// jobs past ``closeGrace``; giving the statement up then would replace a server error
    /// that says nothing was written (a killed backend's) with ``StatementLost/Reason/closed``,
    /// an outcome the caller must report as unknown (a flaky CI run showed it, and a test
    /// reproduces it). So the statements are given up by a task at their own priority, after
    /// a second ``closeGrace`` that starts only when that task runs: the executor runs one
    /// priority's jobs in the order they were queued, so the task starts only once the jobs
    /// already queued for the results have run, and the rest of their way (the event loop's
    /// hops included) then has the grace on an executor that had room. (A task at another
    /// priority would not wait: on Linux each priority has threads of its own. Counting
    /// yields instead of sleeping was not enough: a yield is quicker than a hop through the
    /// event loop.) A statement PostgresNIO dropped (it reached the channel after its handlers
    /// were gone) is still given up, two graces after the close on an idle executor.
    private func closed(_ key: ObjectIdentifier) {
        let waiting = state.withLock { $0.connections.removeValue(forKey: key) }?.waiting ?? [:]
        for (priority, entries) in Dictionary(grouping: waiting.values, by: { $0.priority.rawValue }) {
            let outcomes = entries.map(\.outcome)
            Task.detached(priority: TaskPriority(rawValue: priority)) {
                try? await Task.sleep(for: .nanoseconds(Self.closeGrace.nanoseconds))
                for outcome in outcomes { _ = outcome.finish(.failure(StatementLost(.closed))) }
            }
        }
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

    private let state = Locked(State.pending)

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

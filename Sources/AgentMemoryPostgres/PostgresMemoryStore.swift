import AgentMemoryJSON
import AgentMemoryCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The shared store for crews on several machines: one PostgreSQL database, through a
/// connection pool (PostgresNIO).
///
/// - Schema: values as `jsonb` (plus their exact JSON text), keys `text COLLATE "C"` so they
///   compare and sort byte for byte, named migrations applied under an advisory lock (and
///   only read when the schema is current).
/// - Time: timestamps and expiry come from the database clock, read once per write
///   transaction, so machines with skewed clocks agree. An injected `clock` replaces it (for
///   tests); production leaves it `nil`.
/// - Writes: every write transaction locks its namespace's counter row first, reads the rows
///   of all the keys it writes in one statement (`FOR UPDATE`), plans each write with
///   ``RecordTransition`` (through ``AsyncRecordWriter``), and writes the records and the
///   change log in one statement. Writers of one namespace therefore commit one after
///   another, sequence numbers follow commit order, and compare-and-set, append and batches
///   are atomic across processes and machines. Without quotas or appends a write first tries
///   the same in three round trips instead of five: the rows read without a lock, then one
///   prepared autocommit statement that takes the counter row and writes only if no key moved
///   meanwhile (``OptimisticWriteStatement``), with a statement queued behind it that reads
///   back the token the write set for the session and so confirms the commit
///   (``CommitToken``); when a key moved, nothing was written and the locked transaction runs.
/// - Change feed: each write transaction sends `pg_notify`; ``watch(in:since:)`` listens and
///   reads the log after each notification (polling if `LISTEN` fails).
/// - Search: a generated `tsvector` column (English stemming, keys weighted double) with a
///   GIN index finds candidates; they are ranked as every store ranks (``ContextRanking``:
///   BM25 with each record's neighbours), snippets as on the other stores.
/// - Lifecycle: maintenance (pruning the change log per ``retention``, purging expired
///   records) runs on a timer task from the first successful connection until ``close()``.
/// - Errors: a server that cannot be reached fails with ``MemoryError/Code/unavailable``
///   within `connectTimeout`, naming `host:port`; the password is never printed.
///
/// Opening does no I/O: the first operation connects and migrates. Call ``close()`` when done.
public final class PostgresMemoryStore: MemoryStore {
    /// Where the store is (the password is redacted in its description); `nil` when the store
    /// was given a ``PostgresClient``.
    public let url: PostgresStoreURL?
    /// The PostgreSQL schema that holds the store's tables.
    public let schema: String
    /// The limits enforced on every write.
    public let limits: MemoryLimits
    /// How long the change log is kept.
    public let retention: ChangeLogRetention
    /// How long to wait for a connection before failing with ``MemoryError/Code/unavailable``.
    public let connectTimeout: Duration
    /// How often maintenance (change-log pruning, purging expired records) runs.
    public let maintenanceInterval: Duration
    /// How long one statement may go unanswered before its connection is given up and the
    /// call fails with ``MemoryError/Code/unavailable`` (a server that stopped answering).
    public let statementTimeout: Duration
    /// Whether statements of a fixed text are prepared on each connection at their first use
    /// (``PreparedQuery``); see the `preparesStatements` parameter of ``init(url:limits:retention:connectTimeout:maxConnections:maintenanceInterval:statementTimeout:preparesStatements:clock:logger:)``.
    public let preparesStatements: Bool

    let clock: (@Sendable () -> Date)?
    let logger: Logger
    let client: PostgresClient
    let connections: Connections
    /// The store in messages, after "PostgreSQL store": its redacted URL, or the schema of a given client.
    let location: String
    /// The server in messages: `host:port`, or "the given PostgresClient".
    let endpoint: String
    let setup = Locked<Task<Void, any Error>?>(nil)
    let statements = StatementGuard()
    /// The connection the store opened to apply the migrations, kept for statements while
    /// idle (stores that made their pool only; closed by ``close()``).
    let spare = Locked<PostgresConnection?>(nil)
    /// The connection ``connectAhead()`` is opening, which the migrations then use, and
    /// whether it found the schema current.
    let ahead = Locked<Task<OpenedAhead?, Never>?>(nil)
    let lifecycle = Locked(Lifecycle())
    /// Each namespace's record count and size for search, with the change number they were
    /// counted at (see ``search(_:in:limit:)``).
    let searchSizes = Locked<[String: SearchSize]>([:])
    /// Records written since the store last analyzed `memory_records` (see ``analyzeThreshold``).
    let analyzeSchedule = Locked(AnalyzeSchedule())
    /// The namespaces whose statistics a bulk write or a search of this store has checked
    /// (``analyzeIfStatisticsPredate(_:holding:)``; once each).
    let staleChecked = Locked<Set<String>>([])
    /// Records this store wrote per namespace since it last caught the namespace's search
    /// documents up (``indexAfterWrites(_:in:)``); the namespaces its close looks at.
    let unindexedWrites = Locked<[String: Int]>([:])
    static let connectionIDs = Atomic<Int>(1_000_000)

    /// Who runs the pool, and how the store opens connections of its own.
    enum Connections: Sendable {
        /// The store made the pool: it runs it (`run`) and opens dedicated connections for
        /// migrations and `LISTEN` with `configuration`.
        case owned(run: Task<Void, Never>, configuration: PostgresConnection.Configuration)
        /// The pool was given: its owner runs and shuts it down; the store only leases from it.
        case given
    }

    /// Whether the store is open, connected, and what runs beside it.
    struct Lifecycle {
        var closed = false
        var ready = false
        var maintenance: Task<Void, Never>?
        var watchers: [UUID: Task<Void, Never>] = [:]
    }

    /// Opens the store at a `postgres://` or `postgresql://` URL (see ``PostgresStoreURL``).
    ///
    /// Throws ``MemoryError/Code/invalidLocation`` for a malformed URL. Nothing is connected
    /// yet; an unreachable server is reported by the first operation.
    ///
    /// - Parameters:
    ///   - maxConnections: the pool's size.
    ///   - maintenanceInterval: how often the change log is pruned and expired records purged.
    ///   - statementTimeout: how long a statement may go unanswered before its connection is
    ///     given up.
    ///   - preparesStatements: whether the store's statements of a fixed text (its reads and
    ///     writes of keys, the search catch-up) are prepared on each connection at their first
    ///     use, then only bound and run: the server parses them once, at the cost of one round
    ///     trip more the first time on each connection. `false` suits a store that serves one
    ///     command and closes (the command line's): each statement then goes in one round trip.
    ///   - clock: overrides the database clock (tests); `nil` in production.
    ///   - logger: where the store and PostgresNIO log; nothing is logged by default.
    public convenience init(
        url: String,
        limits: MemoryLimits = .default,
        retention: ChangeLogRetention = .default,
        connectTimeout: Duration = .seconds(5),
        maxConnections: Int = 10,
        maintenanceInterval: Duration = .seconds(60),
        statementTimeout: Duration = .seconds(30),
        preparesStatements: Bool = true,
        clock: (@Sendable () -> Date)? = nil,
        logger: Logger? = nil
    ) throws {
        try self.init(
            url: try PostgresStoreURL(parsing: url), limits: limits, retention: retention, connectTimeout: connectTimeout,
            maxConnections: maxConnections, maintenanceInterval: maintenanceInterval, statementTimeout: statementTimeout,
            preparesStatements: preparesStatements, clock: clock, logger: logger)
    }

    /// Opens the store at a parsed ``PostgresStoreURL`` with a pool of its own, which
    /// ``close()`` shuts down; the other parameters are those of the `String` initializer.
    public init(
        url: PostgresStoreURL,
        limits: MemoryLimits = .default,
        retention: ChangeLogRetention = .default,
        connectTimeout: Duration = .seconds(5),
        maxConnections: Int = 10,
        maintenanceInterval: Duration = .seconds(60),
        statementTimeout: Duration = .seconds(30),
        preparesStatements: Bool = true,
        clock: (@Sendable () -> Date)? = nil,
        logger: Logger? = nil
    ) throws {
        try Self.check(connectTimeout: connectTimeout, maintenanceInterval: maintenanceInterval, statementTimeout: statementTimeout)
        guard maxConnections >= 1 else {
            throw MemoryError(.invalidArgument, "maxConnections must be at least 1, got \(maxConnections)")
        }
        guard PostgresStoreURL.isValidSchema(url.schema) else {
            throw MemoryError(.invalidLocation, "Invalid PostgreSQL schema \"\(url.schema)\": use 1 to 40 lower-case letters, digits or _")
        }
        let logger = logger ?? Self.silentLogger
        let startup = [("search_path", url.schema), ("application_name", "agent-memory")]
        var clientConfiguration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: url.clientTLS())
        clientConfiguration.options.connectTimeout = connectTimeout
        clientConfiguration.options.maximumConnections = maxConnections
        // No keep-alive statements: the pool runs them with PostgresNIO's plain `query`, which
        // never ends when its connection closes at the wrong moment (see `StatementGuard`), and
        // a stuck keep-alive would keep `close()` waiting. A closed idle connection is noticed
        // by its close; one that stopped answering, by the statement timeout.
        clientConfiguration.options.keepAliveBehavior = nil
        clientConfiguration.options.additionalStartupParameters = startup
        if url.tls == .verifyFull { clientConfiguration.options.tlsServerName = url.host }
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)

        var configuration: PostgresConnection.Configuration
        do {
            configuration = PostgresConnection.Configuration(
                host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
                tls: try url.connectionTLS())
        } catch {
            throw MemoryError(.invalidLocation, "Cannot set up TLS for \(url): \(PostgresErrorText.describe(error))")
        }
        configuration.options.connectTimeout = .nanoseconds(Self.nanoseconds(connectTimeout))
        configuration.options.additionalStartupParameters = startup
        if url.tls == .verifyFull { configuration.options.tlsServerName = url.host }

        self.url = url
        self.schema = url.schema
        self.limits = limits
        self.retention = retention
        self.connectTimeout = connectTimeout
        self.maintenanceInterval = maintenanceInterval
        self.statementTimeout = statementTimeout
        self.preparesStatements = preparesStatements
        self.clock = clock
        self.logger = logger
        self.client = client
        self.connections = .owned(run: Task { await client.run() }, configuration: configuration)
        self.location = url.description
        self.endpoint = url.endpoint
        startMaintenance()
    }

    /// Uses a ``PostgresClient`` that someone else runs and shuts down; ``close()`` leaves it
    /// running.
    ///
    /// The store's statements name its tables without a schema, so the client's connections
    /// must have `schema` first on their `search_path` (for a schema other than `public`, set
    /// `search_path` in the client's `additionalStartupParameters`); the first operation checks
    /// this and fails with ``MemoryError/Code/invalidArgument`` otherwise.
    public init(
        client: PostgresClient,
        schema: String = "public",
        limits: MemoryLimits = .default,
        retention: ChangeLogRetention = .default,
        connectTimeout: Duration = .seconds(5),
        maintenanceInterval: Duration = .seconds(60),
        statementTimeout: Duration = .seconds(30),
        clock: (@Sendable () -> Date)? = nil,
        logger: Logger? = nil
    ) throws {
        try Self.check(connectTimeout: connectTimeout, maintenanceInterval: maintenanceInterval, statementTimeout: statementTimeout)
        guard PostgresStoreURL.isValidSchema(schema) else {
            throw MemoryError(.invalidArgument, "Invalid PostgreSQL schema \"\(schema)\": use 1 to 40 lower-case letters, digits or _")
        }
        self.url = nil
        self.schema = schema
        self.limits = limits
        self.retention = retention
        self.connectTimeout = connectTimeout
        self.maintenanceInterval = maintenanceInterval
        self.statementTimeout = statementTimeout
        self.preparesStatements = true
        self.clock = clock
        self.logger = logger ?? Self.silentLogger
        self.client = client
        self.connections = .given
        self.location = "in schema \(schema) of a given PostgresClient"
        self.endpoint = "the given PostgresClient's server"
        startMaintenance()
    }

    deinit {
        if let connection = spare.withLock({ $0 }) {
            // Alive until closed (PostgresNIO expects a connection to be closed before it goes).
            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
        }
        lifecycle.withLock { $0.maintenance?.cancel() }
        if case .owned(let run, _) = connections { run.cancel() }
    }

    private static let silentLogger = Logger(label: "agent-memory.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    private static func check(connectTimeout: Duration, maintenanceInterval: Duration, statementTimeout: Duration) throws {
        guard statementTimeout > .zero else {
            throw MemoryError(.invalidArgument, "statementTimeout must be positive, got \(statementTimeout)")
        }
        guard connectTimeout > .zero else {
            throw MemoryError(.invalidArgument, "connectTimeout must be positive, got \(connectTimeout)")
        }
        guard maintenanceInterval > .zero else {
            throw MemoryError(.invalidArgument, "maintenanceInterval must be positive, got \(maintenanceInterval)")
        }
    }

    // MARK: - Lifecycle

    /// Catches up the search documents of the namespaces it wrote when many wait
    /// (``PostgresSearchIndexing``), stops maintenance and every watcher and, when the store
    /// made its pool, shuts the pool down and waits for its connections to close. A given ``PostgresClient`` keeps running.
    /// Later operations fail with ``MemoryError/Code/unavailable``; closing twice does nothing.
    public func close() async throws {
        if lifecycle.withLock({ $0.ready && !$0.closed }) { await catchUpSearchIndexBeforeClosing() }
        let tasks = lifecycle.withLock { state -> [Task<Void, Never>]? in
            guard !state.closed else { return nil }
            state.closed = true
            let tasks = Array(state.watchers.values) + (state.maintenance.map { [$0] } ?? [])
            state.watchers = [:]
            state.maintenance = nil
            return tasks
        }
        guard let tasks else { return }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        closeAhead()
        await closeSpare()
        if case .owned(let run, _) = connections {
            run.cancel()
            await run.value
        }
    }

    /// Throws ``MemoryError/Code/unavailable`` once the store is closed.
    func checkOpen() throws {
        if lifecycle.withLock({ $0.closed }) {
            throw MemoryError(.unavailable, "The PostgreSQL store \(location) is closed")
        }
    }
}

import AgentMemoryCore
import AgentMemoryPostgres
import Foundation
import InMemoryLogging
import Logging
import PostgresNIO
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TestScratch

/// Runs `body`, then closes `connection`, also when `body` throws (closing twice is harmless):
/// PostgresNIO's debug build stops the whole test process on a connection released while still
/// open, so a test that fails must not leave one behind.
func closing<Result>(_ connection: PostgresConnection, after body: () async throws -> Result) async throws -> Result {
    let result: Result
    do {
        result = try await body()
    } catch {
        try? await connection.close()
        throw error
    }
    try await connection.close()
    return result
}

/// The test server from `AGENT_MEMORY_TEST_POSTGRES_URL`, and direct SQL for checks.
enum TestServer {
    static let url: String? = {
        guard let text = ProcessInfo.processInfo.environment["AGENT_MEMORY_TEST_POSTGRES_URL"], !text.isEmpty else { return nil }
        return text
    }()

    /// Runs `body` with a fresh schema name, dropping the schema afterwards.
    static func withSchema(_ body: (String) async throws -> Void) async throws {
        let schema = "agent_memory_pgtest_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        do {
            try await body(schema)
        } catch {
            _ = try? await query("DROP SCHEMA IF EXISTS \(schema) CASCADE")
            throw error
        }
        _ = try await query("DROP SCHEMA IF EXISTS \(schema) CASCADE")
    }

    /// A store (one "machine") on the test server, in `schema`.
    static func store(
        schema: String, retention: ChangeLogRetention = .default, maintenanceInterval: Duration = .seconds(60),
        preparesStatements: Bool = true, clock: (@Sendable () -> Date)? = nil
    ) throws -> PostgresMemoryStore {
        var location = try PostgresStoreURL(parsing: try #require(url))
        location.schema = schema
        return try PostgresMemoryStore(
            url: location, retention: retention, connectTimeout: scaled(.seconds(60)), maxConnections: 4,
            maintenanceInterval: maintenanceInterval, statementTimeout: scaled(.seconds(30)), preparesStatements: preparesStatements,
            clock: clock)
    }

    /// A client of the test server (not yet running) whose connections use `searchPath` (and,
    /// when given, `applicationName`, so that a test can find its own backends), with a pool of
    /// `maximumConnections`.
    static func client(searchPath: String, applicationName: String? = nil, maximumConnections: Int = 4) throws -> PostgresClient {
        let location = try PostgresStoreURL(parsing: try #require(url))
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = scaled(.seconds(10))
        configuration.options.additionalStartupParameters = [("search_path", searchPath)]
        if let applicationName { configuration.options.additionalStartupParameters.append(("application_name", applicationName)) }
        return PostgresClient(configuration: configuration)
    }

    /// A new connection to the test server, for the test's own statements.
    static func connection() async throws -> PostgresConnection {
        let location = try PostgresStoreURL(parsing: try #require(url))
        let configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        return try await PostgresConnection.connect(configuration: configuration, id: 2, logger: Logger(label: "agent-memory-tests"))
    }

    /// The condition on `pg_stat_activity` that picks the backends of `application` waiting on
    /// a heavyweight lock: those with a request not granted in `pg_locks`.
    ///
    /// Not `wait_event_type = 'Lock'`: a CI run read one such backend and, a moment later,
    /// none, though the write went on waiting (it was not killed, and succeeded once the lock
    /// was released). PostgreSQL reports a lock wait only while the backend sleeps on its
    /// latch; each wake-up (its deadlock check, a signal from another session) clears the
    /// report until it sleeps again. 160,000 reads here never caught that gap, so it is the
    /// likely cause, not a proven one; the request stays in the lock table all along.
    static func waitingOnALock(application: String) -> String {
        "application_name = '\(application)' AND pid IN (SELECT pid FROM pg_locks WHERE NOT granted)"
    }

    /// How many backends of `application` wait on a lock.
    static func backendsWaitingOnALock(application: String) async throws -> Int {
        try await count("SELECT count(*)::text FROM pg_stat_activity WHERE \(waitingOnALock(application: application))")
    }

    /// Kills every backend of `application` with `pg_terminate_backend`; how many.
    @discardableResult
    static func terminateBackends(application: String) async throws -> Int {
        try await count("SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity WHERE application_name = '\(application)'")
    }

    /// Kills the backends of `application` that wait on a lock with `pg_terminate_backend`,
    /// and waits up to 10 s for each to be gone (a backend signalled while its lock is being
    /// released could otherwise take the lock, run its statement and die only at the commit);
    /// how many. When none waits, it looks again every 20 ms, for up to 10 s (stretched by
    /// ``TestTimeScale/factor``): a test calls it once it has seen one wait, and a CI run found
    /// none a moment later, once.
    static func terminateBackendsWaitingOnALock(application: String) async throws -> Int {
        let deadline = ContinuousClock.now + scaled(.seconds(10))
        while true {
            let killed = try await count(
                "SELECT count(pg_terminate_backend(pid, 10000))::text FROM pg_stat_activity WHERE \(waitingOnALock(application: application))")
            if killed > 0 || ContinuousClock.now >= deadline { return killed }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Runs `body` on a connection of its own to the test server, closed afterwards.
    static func withConnection<Result>(_ body: (PostgresConnection, Logger) async throws -> Result) async throws -> Result {
        let location = try PostgresStoreURL(parsing: try #require(url))
        let configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        let logger = Logger(label: "agent-memory-tests")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        return try await closing(connection) { try await body(connection, logger) }
    }

    /// The first column of every row of `sql`, as text.
    static func query(_ sql: String) async throws -> [String?] {
        try await queries([sql])
    }

    /// The first row's first column of `sql` (a `count(...)::text`) as a number; 0 when
    /// there is none.
    static func count(_ sql: String) async throws -> Int {
        Int(try await query(sql).first.flatMap { $0 } ?? "0") ?? 0
    }

    /// Runs `statements` in order on one connection; the first column of the last one's rows,
    /// as text (for session settings that a later statement needs).
    static func queries(_ statements: [String]) async throws -> [String?] {
        try await withConnection { connection, logger in
            var values: [String?] = []
            for statement in statements {
                values = []
                for try await value in try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).decode(String?.self) {
                    values.append(value)
                }
            }
            return values
        }
    }

    /// Runs `body` on a store on a fresh schema, with a client of its own whose connections carry
    /// an application name of their own (so that the test can find its backends), logging at
    /// debug level, without the maintenance timer; returns the messages the store logged.
    static func withLoggingStore(
        _ body: (_ store: PostgresMemoryStore, _ schema: String, _ application: String) async throws -> Void
    ) async throws -> [String] {
        var handler = InMemoryLogHandler()
        handler.logLevel = .debug
        let logger = Logger(label: "agent-memory-tests", factory: { _ in handler })
        try await withSchema { schema in
            let application = "pgtest-\(UUID().uuidString.prefix(8).lowercased())"
            let client = try client(searchPath: schema, applicationName: application)
            let running = Task { await client.run() }
            defer { running.cancel() }
            // No maintenance: under a loaded run a test outlasts its minute, and its catch-up of
            // the search documents would wait on a lock the test holds, beside the store's write.
            let store = try PostgresMemoryStore(
                client: client, schema: schema, connectTimeout: scaled(.seconds(10)), maintenanceInterval: .seconds(3_600), logger: logger)
            do {
                try await body(store, schema, application)
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        }
        return handler.entries.map(\.message.description)
    }

    /// How many sessions are listening for `schema`'s change notifications.
    static func listeners(schema: String) async throws -> Int {
        try await count("""
            SELECT count(*)::text FROM pg_stat_activity WHERE query = 'LISTEN "agent_memory_changes.\(schema)";'
            """)
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound once, then released).
func closedPort() throws -> Int {
    let listener = try SilentListener()
    let port = listener.port
    listener.close()
    return port
}

/// A socket on 127.0.0.1 that accepts connections into its backlog and never answers.
final class SilentListener: Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            closeDescriptor(fd)
            throw POSIXError(.EADDRINUSE)
        }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            closeDescriptor(fd)
            throw POSIXError(.EIO)
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        closeDescriptor(descriptor)
    }
}

private func closeDescriptor(_ descriptor: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(descriptor)
    #else
    _ = Darwin.close(descriptor)
    #endif
}

/// Fails instead of hanging when `body` does not finish in time (`seconds` stretched by
/// ``TestTimeScale/factor``).
func withTimeoutSeconds<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(scaledSeconds(seconds)))
            throw CancellationError()
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

/// A PostgreSQL cluster of the test's own (initdb, pg_ctl), for what the shared test server
/// must not undergo: a restart. Started on 127.0.0.1 at a free port, in a temporary folder
/// deleted by ``stop()``; as root, the server runs as the `postgres` user.
final class ThrowawayCluster: Sendable {
    let folder: URL
    let port: Int
    let binaries: String
    let asRoot: Bool

    /// The store URL of the cluster's `postgres` database.
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }
    /// `host:port`, as the store names the server in its errors.
    var endpoint: String { "127.0.0.1:\(port)" }

    /// Why ``start()`` found no way to run a cluster.
    static let unavailableReason = "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin"

    private init(folder: URL, port: Int, binaries: String, asRoot: Bool) {
        self.folder = folder
        self.port = port
        self.binaries = binaries
        self.asRoot = asRoot
    }

    /// A running cluster; `nil` when the server binaries are not installed.
    static func start() async throws -> ThrowawayCluster? {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).max() else { return nil }
        let binaries = "/usr/lib/postgresql/\(version)/bin"
        guard FileManager.default.isExecutableFile(atPath: binaries + "/initdb") else { return nil }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agent-memory-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        if asRoot { try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: folder.path) }
        let cluster = ThrowawayCluster(folder: folder, port: try closedPort(), binaries: binaries, asRoot: asRoot)
        do {
            try await cluster.run("initdb", ["-D", cluster.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
            try await cluster.run("pg_ctl", [
                "-D", cluster.data, "-l", cluster.log, "-w", "-o",
                "-c listen_addresses=127.0.0.1 -p \(cluster.port) -k \(folder.path)", "start",
            ])
        } catch {
            await cluster.stop()
            throw error
        }
        return cluster
    }

    private var data: String { folder.appendingPathComponent("data").path }
    private var log: String { folder.appendingPathComponent("server.log").path }

    /// `pg_ctl restart -m fast`: every session is ended, the server is back when this returns.
    func restart() async throws {
        try await run("pg_ctl", ["-D", data, "-l", log, "-m", "fast", "-w", "restart"])
    }

    /// Stops the server and deletes its folder.
    func stop() async {
        try? await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: folder)
    }

    private func run(_ program: String, _ arguments: [String]) async throws {
        let process = ChildProcess()
        if asRoot {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--", "\(binaries)/\(program)"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "\(binaries)/\(program)")
            process.arguments = arguments
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let exitCode = try await process.exitStatus()
        guard exitCode == 0 else {
            throw ClusterError(message: "\(program) \(arguments.joined(separator: " ")) exited with status \(exitCode)")
        }
    }
}

/// A command of ``ThrowawayCluster`` failed.
struct ClusterError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

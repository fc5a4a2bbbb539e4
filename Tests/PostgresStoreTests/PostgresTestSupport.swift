import AgentMemoryCore
import AgentMemoryPostgres
import Foundation
import PostgresNIO
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        clock: (@Sendable () -> Date)? = nil
    ) throws -> PostgresMemoryStore {
        var location = try PostgresStoreURL(parsing: try #require(url))
        location.schema = schema
        return try PostgresMemoryStore(
            url: location, retention: retention, maxConnections: 4, maintenanceInterval: maintenanceInterval, clock: clock)
    }

    /// A client of the test server (not yet running) whose connections use `searchPath`.
    static func client(searchPath: String) throws -> PostgresClient {
        let location = try PostgresStoreURL(parsing: try #require(url))
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        configuration.options.maximumConnections = 4
        configuration.options.additionalStartupParameters = [("search_path", searchPath)]
        return PostgresClient(configuration: configuration)
    }

    /// The first column of every row of `sql`, as text.
    static func query(_ sql: String) async throws -> [String?] {
        let location = try PostgresStoreURL(parsing: try #require(url))
        let configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        let logger = Logger(label: "agent-memory-tests")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            var values: [String?] = []
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(String?.self) {
                values.append(value)
            }
            try await connection.close()
            return values
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// How many sessions are listening for `schema`'s change notifications.
    static func listeners(schema: String) async throws -> Int {
        let rows = try await query("""
            SELECT count(*)::text FROM pg_stat_activity WHERE query = 'LISTEN "agent_memory_changes.\(schema)";'
            """)
        return Int(rows.first.flatMap { $0 } ?? "0") ?? 0
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

/// Fails instead of hanging when `body` does not finish in time.
func withTimeoutSeconds<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw CancellationError()
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

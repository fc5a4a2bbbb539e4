import AgentMemoryJSON
import AgentMemoryCore
import AgentMemoryPostgres
import AgentMemoryTesting
import Foundation
import PostgresNIO
import Testing

/// The PostgreSQL server the tests use, from `AGENT_MEMORY_TEST_POSTGRES_URL`.
///
/// Every store made here gets a schema of its own (`agent_memory_test_<random>`), so tests
/// running in parallel never see each other's rows; the ``PostgresSchemaCleanup`` trait drops
/// the schemas when each test case ends.
enum PostgresTestServer {
    /// The server's URL, or `nil` when the PostgreSQL tests are skipped.
    static let url: String? = {
        guard let text = ProcessInfo.processInfo.environment["AGENT_MEMORY_TEST_POSTGRES_URL"], !text.isEmpty else { return nil }
        return text
    }()

    static let skipMessage = "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"

    /// A store in a fresh schema of the test server.
    static func makeStore(
        limits: MemoryLimits = .default, retention: ChangeLogRetention = .default, clock: (@Sendable () -> Date)? = nil,
        schema: String? = nil, preparesStatements: Bool = true
    ) throws -> PostgresMemoryStore {
        guard let url else { throw MemoryError(.unavailable, skipMessage) }
        var location = try PostgresStoreURL(parsing: url)
        location.schema = schema ?? newSchema()
        // A generous connect timeout: the whole suite runs in parallel against one server, and
        // a test waiting for a free connection under load is not a failure of the store. It and
        // the statement timeout (a statement waiting its turn for a namespace's lock behind
        // others') are stretched by AGENT_MEMORY_TEST_TIME_SCALE for the sanitizer runs. Both
        // are hang guards: 30 s for a statement was once exceeded in a full local run (eight
        // appenders on one list, load 6 on two cores), so it is 120 s.
        return try PostgresMemoryStore(
            url: location, limits: limits, retention: retention, connectTimeout: TestTimeScale.scaled(.seconds(60)), maxConnections: 4,
            statementTimeout: TestTimeScale.scaled(.seconds(120)), preparesStatements: preparesStatements, clock: clock)
    }

    /// A new schema name, registered for cleanup.
    static func newSchema() -> String {
        let name = "agent_memory_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        PostgresSchemaCleanup.register(name)
        return name
    }

    /// Drops `schemas` (and everything in them).
    static func drop(_ schemas: [String]) async {
        guard let url, !schemas.isEmpty, let location = try? PostgresStoreURL(parsing: url) else { return }
        let configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: .disable)
        let logger = Logger(label: "agent-memory-tests")
        guard let connection = try? await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger) else { return }
        for schema in schemas {
            _ = try? await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: logger).collect()
        }
        try? await connection.close()
    }
}

/// Drops the PostgreSQL schemas a test case created, when it ends.
struct PostgresSchemaCleanup: SuiteTrait, TestTrait, TestScoping {
    final class Created: Sendable {
        let names = Locked<[String]>([])
    }

    @TaskLocal static var current: Created?
    private static let unscoped = Created()

    static func register(_ schema: String) {
        (current ?? unscoped).names.withLock { $0.append(schema) }
    }

    var isRecursive: Bool { true }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard PostgresTestServer.url != nil, Self.current == nil else {
            try await function()
            return
        }
        let created = Created()
        do {
            try await Self.$current.withValue(created) { try await function() }
        } catch {
            await PostgresTestServer.drop(created.names.withLock { $0 })
            throw error
        }
        await PostgresTestServer.drop(created.names.withLock { $0 })
    }
}

extension Trait where Self == PostgresSchemaCleanup {
    /// Drops the PostgreSQL schemas each test case created.
    static var dropsPostgresSchemas: Self { Self() }
}

/// Says in the test report when the PostgreSQL cases did not run.
@Suite("PostgreSQL availability", .dropsPostgresSchemas)
struct PostgresAvailability {
    // A disabled test is listed as skipped, with this comment as the reason.
    @Test(.disabled(if: PostgresTestServer.url == nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
    func postgresServerIsConfigured() async throws {
        let store = try PostgresTestServer.makeStore()
        try await store.connect()
        try await store.close()
    }
}

import AgentMemoryCore
import AgentMemorySQLite
import AgentMemoryTesting
import Foundation
import Testing

/// The contract every `MemoryStore` keeps, from `AgentMemoryTesting`'s ``StoreConformance``
/// (the same checks a third-party backend runs): each check against every backend.
@Suite("Store conformance", .dropsPostgresSchemas)
struct StoreConformanceTests {
    @Test(arguments: StoreKind.allCases, StoreConformance.checks)
    func conformance(kind: StoreKind, check: StoreConformance.Check) async throws {
        try await check.run(kind.factory)
    }

    @Test("The checks cover the whole contract, each named once")
    func checksAreNamedOnce() {
        let names = StoreConformance.checks.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names == [
            "putThenGet", "jsonRoundTrip", "updates", "compareAndSet", "concurrentCompareAndSet", "expiry", "getMany", "keyBytes",
            "invalidArguments", "listPaging", "badCursorsAndLimits", "namespaceIsolation", "limitsBeforeWrites", "quotas",
            "batches", "search", "namespaceSummaries", "changeLog", "append", "concurrentAppends", "watch",
        ])
    }

    @Test("A store that breaks a promise fails the check that names it")
    func aBrokenStoreFails() async throws {
        // A store that forgets every write: reads find nothing, so the put check fails at its first read.
        let failures = await StoreConformance.run { setup in ForgetfulStore(wrapping: InMemoryMemoryStore(limits: setup.limits, clock: setup.clock)) }
        let names = failures.map(\.check)
        #expect(names.contains("putThenGet"))
        #expect(names.contains("compareAndSet"))
        let putFailure = try #require(failures.first { $0.check == "putThenGet" })
        #expect(putFailure.message == "get after put: got nothing")
    }
}

extension StoreKind {
    /// This backend as a ``StoreConformance`` factory.
    var factory: StoreConformance.MakeStore {
        { setup in
            switch self {
            case .inMemory:
                return InMemoryMemoryStore(limits: setup.limits, retention: setup.retention, clock: setup.clock)
            case .sqlite:
                return try SQLiteMemoryStore(path: temporarySQLitePath(), limits: setup.limits, retention: setup.retention, clock: setup.clock)
            case .postgres, .postgresUnprepared:
                return try PostgresTestServer.makeStore(
                    limits: setup.limits, retention: setup.retention, clock: setup.clock, preparesStatements: self == .postgres)
            }
        }
    }
}

/// A broken backend for the test of the checks themselves: writes succeed, reads of single keys find nothing.
private struct ForgetfulStore: MemoryStore {
    let wrapping: InMemoryMemoryStore

    var limits: MemoryLimits { wrapping.limits }
    func close() async throws { try await wrapping.close() }
    func get(_ key: MemoryKey, in namespace: Namespace) async throws -> MemoryRecord? { nil }
    func get(_ keys: [MemoryKey], in namespace: Namespace) async throws -> [MemoryKey: MemoryRecord] { [:] }
    func apply(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [WriteOutcome] {
        try await wrapping.apply(operations, in: namespace)
    }
    func commit(_ plans: [WritePlan], in namespace: Namespace) async throws { try await wrapping.commit(plans, in: namespace) }
    func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        try await wrapping.list(in: namespace, prefix: prefix, cursor: cursor, limit: limit)
    }
    func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try await wrapping.search(query, in: namespace, limit: limit)
    }
    func namespaces() async throws -> [NamespaceSummary] { try await wrapping.namespaces() }
    func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] {
        try await wrapping.changes(in: namespace, since: since, limit: limit)
    }
    func history(of key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] {
        try await wrapping.history(of: key, in: namespace, limit: limit)
    }
    func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        wrapping.watch(in: namespace, since: since)
    }
}

import AgentMemoryJSON
import AgentMemoryCore
import AgentMemoryPostgres
import AgentMemorySQLite
import Foundation
import TestScratch

/// A clock the tests move by hand, so expiry is tested without sleeping.
final class ManualClock: Sendable {
    private let current: Locked<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Locked(start)
    }

    var now: Date { current.withLock { $0 } }

    func advance(seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    var function: @Sendable () -> Date { { [self] in self.now } }
}

/// The backends every conformance test runs against.
///
/// PostgreSQL is among them only when `AGENT_MEMORY_TEST_POSTGRES_URL` names a server
/// (`.ci/run` starts one); otherwise ``PostgresAvailability`` reports the skip.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case inMemory
    case sqlite
    case postgres
    /// PostgreSQL with its statements sent whole instead of prepared (as the command line opens it).
    case postgresUnprepared

    static var allCases: [StoreKind] {
        PostgresTestServer.url == nil ? [.inMemory, .sqlite] : [.inMemory, .sqlite, .postgres, .postgresUnprepared]
    }

    /// Whether this is one of the PostgreSQL stores.
    var isPostgres: Bool { self == .postgres || self == .postgresUnprepared }

    var testDescription: String { rawValue }

    func make(
        limits: MemoryLimits = .default, retention: ChangeLogRetention = .default, clock: ManualClock = ManualClock()
    ) throws -> any MemoryStore {
        switch self {
        case .inMemory:
            return InMemoryMemoryStore(limits: limits, retention: retention, clock: clock.function)
        case .sqlite:
            return try SQLiteMemoryStore(path: temporarySQLitePath(), limits: limits, retention: retention, clock: clock.function)
        case .postgres, .postgresUnprepared:
            return try PostgresTestServer.makeStore(
                limits: limits, retention: retention, clock: clock.function, preparesStatements: self == .postgres)
        }
    }
}

import Testing

func temporarySQLitePath() -> String {
    // A folder that does not exist yet: opening the store makes it, as it did when these paths
    // were made directly in the temporary directory.
    Scratch.directory("store").appendingPathComponent("new/memory.sqlite").path
}

let main = try! Namespace("main")
let other = try! Namespace("other")

extension MemoryStore {
    /// Applies the retention policy now where the backend prunes lazily.
    func pruneIfPossible() async throws {
        if let sqlite = self as? SQLiteMemoryStore { try await sqlite.pruneChangeLog() }
        if let postgres = self as? PostgresMemoryStore { try await postgres.pruneChangeLog() }
    }
}

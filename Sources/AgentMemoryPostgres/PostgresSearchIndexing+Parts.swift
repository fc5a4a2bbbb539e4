import AgentMemoryCore
import Logging
import PostgresNIO

extension PostgresMemoryStore {
    /// Records waiting for a search document from which a catch-up is split between
    /// ``searchCatchUpParts`` connections (``catchUpInParts(_:session:)``). Computing a document
    /// is most of a catch-up's time and runs on one core per connection: 4,096 documents took
    /// 104 to 153 ms on one connection, and each half 66 to 113 ms on two at once (BENCHMARKS.md,
    /// round fifty-one); below about a thousand, the second connection's start would cost more
    /// than it saves.
    package static let searchCatchUpSplit = 1_024

    /// Parts a large catch-up is split into: the caller's connection's and one more's.
    static let searchCatchUpParts = 2

    /// The second part's progress, so that the caller gives it up while it still waits for its
    /// connection once the caller's own part is done, and waits for it once it has started.
    private enum HelperPart: Sendable {
        case waiting, running, givenUp
    }

    /// Computes the missing search documents of `namespace` in two parts at once
    /// (``PostgresSearchIndexingPart``): part 0 on `session`, part 1 on a connection leased for
    /// it (``withSession(_:)``). Returns how many documents were computed, and whether both
    /// parts found none left; when not, the caller computes the rest on its own connection. A
    /// part is left so when its connection is not had by the time part 0 is done (a busy pool,
    /// a server at its connection limit), when it fails (logged), or when the namespace has no
    /// counter row.
    func catchUpInParts(_ namespace: String, session: PostgresSession) async throws -> (indexed: Int, complete: Bool) {
        let parts = Self.searchCatchUpParts
        let helper = Locked(HelperPart.waiting)
        return try await withThrowingTaskGroup(of: (indexed: Int, wentAhead: Bool).self) { group in
            group.addTask {
                do {
                    return try await self.withSession { connection in
                        let starts = helper.withLock { state in
                            guard case .waiting = state else { return false }
                            state = .running
                            return true
                        }
                        guard starts else { return (0, false) }
                        return try await self.catchUpPart(namespace, part: 1, of: parts, session: connection)
                    }
                } catch {
                    self.logger.debug(
                        "agent-memory: a part of the search catch-up failed; the rest is computed on one connection",
                        metadata: ["namespace": "\(namespace)", "error": "\(PostgresErrorText.describe(error))"])
                    return (0, false)
                }
            }
            let own = try await catchUpPart(namespace, part: 0, of: parts, session: session)
            let running = helper.withLock { state in
                if case .waiting = state { state = .givenUp }
                if case .running = state { return true }
                return false
            }
            // Only a helper still waiting for a connection is cancelled: a running statement is
            // waited for (cancelled, its connection would be given up).
            if !running { group.cancelAll() }
            var (indexed, complete) = own
            for try await other in group {
                indexed += other.indexed
                complete = complete && other.wentAhead
            }
            return (indexed, complete)
        }
    }

    /// Computes part `part` of `parts` of the missing documents of `namespace` on `session`;
    /// returns how many, and whether it went ahead to the end (`false`: the namespace has no
    /// counter row).
    private func catchUpPart(_ namespace: String, part: Int, of parts: Int, session: PostgresSession) async throws -> (indexed: Int, wentAhead: Bool) {
        try await computeDocuments(session: session, wait: PostgresSearchIndexingPart.busy(namespace: namespace, part: part)) {
            PreparedQuery<PostgresSearchIndexingPart>(
                PostgresSearchIndexingPart.catchUp(namespace: namespace, part: part, parts: parts, limit: PostgresSearchIndexing.chunk))
        }
    }
}

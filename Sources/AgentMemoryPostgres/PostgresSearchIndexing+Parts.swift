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

    /// Connections a large catch-up is split between: the caller's and one more.
    static let searchCatchUpParts = 2

    /// A helper part's progress, so that the caller gives up a part whose connection it is
    /// still waiting for once its own part is done, and waits for one that has started.
    private enum HelperPart: Sendable {
        case waiting, running, givenUp
    }

    /// Computes the missing search documents of `namespace` in ``searchCatchUpParts`` parts
    /// at once (``PostgresSearchIndexingPart``): part 0 on `session`, each other part on a
    /// connection leased for it (``withSession(_:)``). Returns how many documents were computed,
    /// and whether every part found none left; when not, the caller computes the rest on its
    /// own connection. A part is left so when its connection is not had by the time part 0 is
    /// done (a busy pool, a server at its connection limit), when it fails (logged), or when the
    /// namespace has no counter row.
    func catchUpInParts(_ namespace: String, session: PostgresSession) async throws -> (indexed: Int, complete: Bool) {
        let parts = Self.searchCatchUpParts
        let helpers = (1..<parts).map { _ in Locked(HelperPart.waiting) }
        return try await withThrowingTaskGroup(of: (indexed: Int, complete: Bool).self) { group in
            for part in 1..<parts {
                let state = helpers[part - 1]
                group.addTask {
                    do {
                        return try await self.withSession { helper in
                            let starts = state.withLock { state in
                                guard case .waiting = state else { return false }
                                state = .running
                                return true
                            }
                            guard starts else { return (0, false) }
                            return try await self.catchUpPart(namespace, part: part, of: parts, session: helper)
                        }
                    } catch {
                        self.logger.debug(
                            "agent-memory: a part of the search catch-up failed; the rest is computed on one connection",
                            metadata: ["namespace": "\(namespace)", "error": "\(PostgresErrorText.describe(error))"])
                        return (0, false)
                    }
                }
            }
            var (indexed, complete) = try await catchUpPart(namespace, part: 0, of: parts, session: session)
            let anyRunning = helpers.reduce(false) { running, state in
                state.withLock { state in
                    if case .waiting = state { state = .givenUp }
                    if case .running = state { return true }
                    return running
                }
            }
            // Only helpers still waiting for a connection are cancelled: a running statement is
            // waited for (cancelled, its connection would be given up).
            if !anyRunning { group.cancelAll() }
            for try await helper in group {
                indexed += helper.indexed
                complete = complete && helper.complete
            }
            return (indexed, complete)
        }
    }

    /// Computes part `part` of `parts` of the missing documents of `namespace` on `session`, in
    /// statements of up to ``PostgresSearchIndexing/chunk`` documents; returns how many, and
    /// whether it ran to the end (`false`: the namespace has no counter row).
    private func catchUpPart(_ namespace: String, part: Int, of parts: Int, session: PostgresSession) async throws -> (indexed: Int, complete: Bool) {
        var indexed = 0
        while true {
            let statement = PostgresSearchIndexingPart.catchUp(namespace: namespace, part: part, parts: parts, limit: PostgresSearchIndexing.chunk)
            let rows = try await session.rows(prepared: PreparedQuery<PostgresSearchIndexingPart>(statement))
            let (computed, picked, wentAhead) = try rows.first?.decode((Int, Int, Bool).self) ?? (0, 0, false)
            indexed += computed
            if !wentAhead { return (indexed, false) }
            if picked < PostgresSearchIndexing.chunk { return (indexed, true) }
        }
    }
}

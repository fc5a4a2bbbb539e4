import AgentMemoryCore
import Foundation
import PostgresNIO

extension PostgresMemoryStore {
    /// Keys that resemble `key`, from range seeks in the `(namespace, key)` index (see
    /// ``KeySuggestionSearch``): each step's seeks go as one statement, so a miss costs two
    /// round trips. Other directories come from the keys the first step finds (there is no
    /// walk of the top-level directories here). Expired and reserved keys are skipped.
    public func suggestKeys(near key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [String] {
        let now = clockSeconds()
        let target = key.rawValue
        return try await autocommit { session in
            let found = try await Self.keys(for: KeySuggestionSearch.firstSeeks(near: target), namespace, now, session)
            let more = try await Self.keys(
                for: KeySuggestionSearch.secondSeeks(near: target, found: found), namespace, now, session)
            return KeySuggestionSearch.rank(found + more, near: target, limit: limit)
        }
    }

    /// The keys the seeks find, in one statement (a `UNION ALL` of index range scans).
    private static func keys(for seeks: [KeySeek], _ namespace: Namespace, _ now: Double?, _ session: PostgresSession) async throws -> [String] {
        var binds = StatementBinds()
        let name = binds.text(namespace.name)
        let live = "(expires_at IS NULL OR expires_at > \(binds.now(now)))"
        var parts: [String] = []
        for seek in seeks {
            // Bounds that are not valid UTF-8 (or hold NUL) cannot be PostgreSQL text: skipped.
            guard !seek.bound.contains(0), let bound = String(validating: seek.bound, as: UTF8.self) else { continue }
            let (comparison, order) = seek.direction == .forward ? (">=", "ASC") : ("<", "DESC")
            parts.append("""
                (SELECT key FROM memory_records WHERE namespace = \(name) AND key \(comparison) \(binds.text(bound)) AND \(live)
                 ORDER BY key \(order) LIMIT \(seek.limit))
                """)
        }
        guard !parts.isEmpty else { return [] }
        return try await session.rows(parts.joined(separator: "\nUNION ALL\n"), binds).map { try $0.decode(String.self) }
    }
}

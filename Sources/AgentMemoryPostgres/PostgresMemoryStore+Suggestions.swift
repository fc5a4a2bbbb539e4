import AgentMemoryCore
import Foundation
import PostgresNIO

extension PostgresMemoryStore {
    /// Keys that resemble `key`, from range seeks in the `(namespace, key)` index (see
    /// ``KeySuggestionSearch``): each step's seeks go as one prepared statement, so a miss costs
    /// two round trips. Other directories come from the keys the first step finds (there is no
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

    /// The keys the seeks find, seek by seek and each seek's in the order it reads them.
    private static func keys(for seeks: [KeySeek], _ namespace: Namespace, _ now: Double?, _ session: PostgresSession) async throws -> [String] {
        var bounds: [String] = []
        var forward: [Bool] = []
        var limits: [Int64] = []
        for seek in seeks {
            // Bounds that are not valid UTF-8 (or hold NUL) cannot be PostgreSQL text: skipped.
            guard !seek.bound.contains(0), let bound = String(validating: seek.bound, as: UTF8.self) else { continue }
            bounds.append(bound)
            forward.append(seek.direction == .forward)
            limits.append(Int64(seek.limit))
        }
        guard !bounds.isEmpty else { return [] }
        return try await session.rows(prepared: KeySeeks.prepared(
            namespace: namespace.name, now: now, bounds: bounds, forward: forward, limits: limits)
        ).map { try $0.decode(String.self) }
    }
}

/// A step's key seeks as one statement of fixed text, prepared once per connection: a lateral
/// range scan of the key index for each seek (the seeks as arrays). The `UNION ALL` of one
/// subquery per seek that it replaced was new text at every call, and PostgreSQL parsed and
/// planned it each time: about 1.2 ms of a miss's server time, where this statement is parsed
/// once per connection and planned in about 0.1 ms (BENCHMARKS.md, round forty-three).
enum KeySeeks: PreparedQueryTemplate {
    static func prepared(
        namespace: String, now: Double?, bounds: [String], forward: [Bool], limits: [Int64]
    ) -> PreparedQuery<KeySeeks> {
        PreparedQuery(query(namespace: namespace, now: now, bounds: bounds, forward: forward, limits: limits))
    }

    /// `now`: the injected clock's time, else `NULL` for the database's clock.
    static func query(namespace: String, now: Double?, bounds: [String], forward: [Bool], limits: [Int64]) -> PostgresQuery {
        """
        SELECT f.key
        FROM unnest(\(bounds)::text[], \(forward)::bool[], \(limits)::int8[]) WITH ORDINALITY AS s(bound, forward, lim, position)
        CROSS JOIN LATERAL (
            (SELECT key FROM memory_records
             WHERE namespace = \(namespace)::text AND s.forward AND key >= s.bound
               AND (expires_at IS NULL OR expires_at > COALESCE(to_timestamp(\(now)::float8), now()))
             ORDER BY key LIMIT s.lim)
            UNION ALL
            (SELECT key FROM memory_records
             WHERE namespace = \(namespace)::text AND NOT s.forward AND key < s.bound
               AND (expires_at IS NULL OR expires_at > COALESCE(to_timestamp(\(now)::float8), now()))
             ORDER BY key DESC LIMIT s.lim)
        ) AS f
        ORDER BY s.position, CASE WHEN s.forward THEN f.key END, f.key DESC
        """
    }

    static let template = query(namespace: "", now: nil, bounds: [], forward: [], limits: [])
}

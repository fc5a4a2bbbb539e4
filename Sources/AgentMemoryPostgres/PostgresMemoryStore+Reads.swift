import AgentMemoryJSON
import AgentMemoryCore
import Foundation
import PostgresNIO

// Reads are one statement each, outside a transaction. "Now" is the injected clock's time
// when there is one, else the database's: `COALESCE(to_timestamp($n), now())`.
extension PostgresMemoryStore {
    /// The live record under `key`, or `nil`.
    public func get(_ key: MemoryKey, in namespace: Namespace) async throws -> MemoryRecord? {
        let now = clockSeconds()
        return try await autocommit { session in
            try await session.rows(prepared: RecordRead.prepared(namespace: namespace.name, key: key.rawValue, now: now))
                .first.map { try Self.record($0.makeRandomAccess()) }
        }
    }

    /// The live records under `keys`, in one statement.
    public func get(_ keys: [MemoryKey], in namespace: Namespace) async throws -> [MemoryKey: MemoryRecord] {
        guard !keys.isEmpty else { return [:] }
        let now = clockSeconds()
        let names = Array(Set(keys.map(\.rawValue)))
        let records = try await autocommit { session in
            try await session.rows(prepared: RecordsRead.prepared(namespace: namespace.name, keys: names, now: now))
                .map { try Self.record($0.makeRandomAccess()) }
        }
        return Dictionary(records.map { (MemoryKey(checked: $0.key), $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// A page of live records in key byte order (the "C" collation compares bytes).
    public func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        try ListCursor.validate(limit: limit)
        let after = try cursor.map(ListCursor.decode)
        let now = clockSeconds()
        let start = prefix.flatMap { $0.isEmpty ? nil : $0 }
        let end = start.flatMap(Self.upperBound(ofPrefix:))
        // One statement text for every page: an absent bound is a NULL parameter, which the
        // planner folds away (the unnamed statement is planned with its parameter values).
        var records = try await autocommit { session in
            try await session.rows("""
                SELECT \(unescaped: Self.recordColumns) FROM memory_records
                WHERE namespace = \(namespace.name)
                  AND (expires_at IS NULL OR expires_at > COALESCE(to_timestamp(\(now)::float8), now()))
                  AND (\(after)::text IS NULL OR key > \(after)::text)
                  AND (\(start)::text IS NULL OR key >= \(start)::text)
                  AND (\(end)::text IS NULL OR key < \(end)::text)
                ORDER BY key LIMIT \(limit + 1)
                """).map { try Self.record($0.makeRandomAccess()) }
        }
        var next: String?
        if records.count > limit {
            records.removeLast()
            next = records.last.map { ListCursor.encode(afterKey: $0.key) }
        }
        return MemoryPage(records: records, nextCursor: next)
    }

    /// Namespaces with live records, by name (byte order).
    public func namespaces() async throws -> [NamespaceSummary] {
        let now = clockSeconds()
        return try await autocommit { session in
            try await session.rows("""
                SELECT namespace, count(*) FROM memory_records
                WHERE expires_at IS NULL OR expires_at > COALESCE(to_timestamp(\(now)::float8), now())
                GROUP BY namespace ORDER BY namespace
                """).map { row in
                let (name, count) = try row.decode((String, Int).self)
                return NamespaceSummary(namespace: try Namespace(name), recordCount: count)
            }
        }
    }

    /// Changes after `since`, oldest first.
    public func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] {
        try ListCursor.validate(limit: limit)
        return try await autocommit { session in
            try await session.rows("""
                SELECT \(unescaped: Self.changeColumns) FROM memory_changes
                WHERE namespace = \(namespace.name) AND sequence > \(since)
                ORDER BY sequence LIMIT \(limit)
                """).map(Self.change)
        }
    }

    /// The retained changes of `key`, oldest first.
    public func history(of key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] {
        try ListCursor.validate(limit: limit)
        return try await autocommit { session in
            try await session.rows("""
                SELECT \(unescaped: Self.changeColumns) FROM memory_changes
                WHERE namespace = \(namespace.name) AND key = \(key.rawValue)
                ORDER BY sequence DESC LIMIT \(limit)
                """).map(Self.change).reversed()
        }
    }

    // MARK: - Rows

    /// The columns of a record, in the order ``record(_:)`` reads them (a constant list,
    /// spliced into statements unescaped).
    static let recordColumns = """
        key, value_text, version, extract(epoch FROM created_at)::float8 AS created, \
        extract(epoch FROM updated_at)::float8 AS updated, author, extract(epoch FROM expires_at)::float8 AS expires
        """
    /// The columns of a change-log entry, in the order ``change(_:)`` reads them.
    static let changeColumns = "sequence, key, operation, version, author, extract(epoch FROM time)::float8"

    /// The record in the first seven cells of a row (see ``recordColumns``).
    static func record(_ cells: PostgresRandomAccessRow) throws -> MemoryRecord {
        MemoryRecord(
            key: try cells[0].decode(String.self),
            value: try JSONValue(parsing: try cells[1].decode(String.self)),
            version: try cells[2].decode(Int.self),
            createdAt: Date(timeIntervalSince1970: try cells[3].decode(Double.self)),
            updatedAt: Date(timeIntervalSince1970: try cells[4].decode(Double.self)),
            author: try cells[5].decode(String?.self),
            expiresAt: try cells[6].decode(Double?.self).map { Date(timeIntervalSince1970: $0) })
    }

    /// The change-log entry of a row (see ``changeColumns``).
    static func change(_ row: PostgresRow) throws -> MemoryChange {
        let (sequence, key, operation, version, author, time) = try row.decode((Int64, String, String, Int, String?, Double).self)
        return MemoryChange(
            sequence: sequence, key: key, operation: MemoryChange.Operation(rawValue: operation), version: version, author: author,
            time: Date(timeIntervalSince1970: time))
    }

    /// The smallest string greater than every string that starts with `prefix`, in byte order
    /// (the last scalar incremented, so the bound stays valid UTF-8); `nil` when there is none.
    static func upperBound(ofPrefix prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var next = last.value + 1
            if (0xD800...0xDFFF).contains(next) { next = 0xE000 }
            if let scalar = Unicode.Scalar(next) {
                scalars.append(scalar)
                var text = ""
                text.unicodeScalars.append(contentsOf: scalars)
                return text
            }
        }
        return nil
    }
}

/// The live record of one key (``PostgresMemoryStore/get(_:in:)``), prepared once per
/// connection: as unnamed text it was parsed and planned at every read, most of the server's
/// time for a read of one row (BENCHMARKS.md, round forty-three). `now`: the injected clock's
/// time, else `NULL` for the database's clock.
enum RecordRead: PreparedQueryTemplate {
    static func prepared(namespace: String, key: String, now: Double?) -> PreparedQuery<RecordRead> {
        PreparedQuery(query(namespace: namespace, key: key, now: now))
    }

    static func query(namespace: String, key: String, now: Double?) -> PostgresQuery {
        """
        SELECT \(unescaped: PostgresMemoryStore.recordColumns) FROM memory_records
        WHERE namespace = \(namespace)::text AND key = \(key)::text
          AND (expires_at IS NULL OR expires_at > COALESCE(to_timestamp(\(now)::float8), now()))
        """
    }

    static let template = query(namespace: "", key: "", now: nil)
}

/// The live records of several distinct keys (the many-key `get(_:in:)`, a turn's prefetch, a
/// search's neighbours): ``RecordRead`` once per key of the array.
///
/// Each key is looked up by a subquery of its own (`LATERAL`, with a `LIMIT` so that the
/// planner cannot merge it into a join), so the plan is one probe of the primary key per key
/// whatever the planner estimates. As `key = ANY($2)`, 2,000 keys were a sequential scan of the
/// whole table in any table below about 150,000 rows (it prices each probe as a random read from
/// disk): 12 to 17 ms of a 70 ms `exec` in a table of 18,000 records, where the probes take 2 to
/// 4 ms (BENCHMARKS.md, round fifty-one).
package enum RecordsRead: PreparedQueryTemplate {
    static func prepared(namespace: String, keys: [String], now: Double?) -> PreparedQuery<RecordsRead> {
        PreparedQuery(query(namespace: namespace, keys: keys, now: now))
    }

    /// The statement; every parameter is cast, as a prepared statement needs.
    package static func query(namespace: String, keys: [String], now: Double?) -> PostgresQuery {
        """
        SELECT r.* FROM unnest(\(keys)::text[]) AS wanted(name) CROSS JOIN LATERAL (
            SELECT \(unescaped: PostgresMemoryStore.recordColumns) FROM memory_records
            WHERE namespace = \(namespace)::text AND key = wanted.name
              AND (expires_at IS NULL OR expires_at > COALESCE(to_timestamp(\(now)::float8), now()))
            LIMIT 1
        ) AS r
        """
    }

    /// The statement's text and placeholder values (its text is the prepared one).
    package static let template = query(namespace: "", keys: [], now: nil)
}

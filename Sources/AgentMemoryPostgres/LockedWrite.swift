import AgentMemoryCore
import PostgresNIO

/// The statements of a write under the namespace's lock (``PostgresTransactionWriter`` in its
/// locked mode: a quota, an append, or an optimistic write that found a key moved): the rows of
/// its keys read and locked, then its writes sent together.
///
/// Both find their rows by one probe of the primary key per key. As `key = ANY($keys)`, the
/// planner read the keys' number from the array: once the table had statistics, 2,000 keys of
/// a table of 40,000 records were a sequential scan of it, 37 ms to lock them and 25 ms to
/// delete them, where the probes took 13 and 6 ms (its planning also took 4 to 5 ms, against
/// under 1). Behind a sub-select, the array's length is unknown to the planner, which guesses
/// 10 rows and probes the index for each (`PostgresWritePlanTests`). In a table of 200,000
/// records the old form used the index's own array search, about 3 ms faster for 2,000 keys
/// (10 ms against 13): a small price for a plan that no table size turns into a scan
/// (BENCHMARKS.md, round fifty-four).
///
/// Each probe is a subquery of its own, which the planner cannot merge into a join: as a join,
/// statistics older than the namespace's rows made it take the namespace for one row and scan
/// all of them (``PostgresTransactionWriter/probedColumns``). The delete reaches each row it
/// probed by its tuple id (`ctid`), as ``OptimisticWriteStatement`` does.
package enum LockedWrite {
    /// The rows of `keys` (distinct), locked (`FOR UPDATE`), each with the database clock, and
    /// with its value only when its key is among `valueKeys`; no row for a key without one.
    package static func load(namespace: String, keys: [String], valueKeys: [String]) -> PostgresQuery {
        """
        SELECT \(unescaped: PostgresTransactionWriter.readColumns),
               CASE WHEN m.key = ANY(\(valueKeys)::text[]) THEN m.value_text END
        FROM unnest((SELECT \(keys)::text[])) AS wanted(name)
        CROSS JOIN LATERAL (
            SELECT \(unescaped: PostgresTransactionWriter.probedColumns) FROM memory_records
            WHERE namespace = \(namespace)::text AND key = wanted.name LIMIT 1 FOR UPDATE
        ) AS m
        """
    }

    /// One statement of every write planned: the rows of `removed` deleted, the `stored` rows
    /// upserted (each key once, as it ends; its search document cleared for the catch-up,
    /// ``PostgresSearchIndexing``), the `logged` change-log entries numbered from the namespace's
    /// counter, and one notification for watchers on `channel`. The counter row is locked by the
    /// transaction already.
    package static func flush(
        namespace name: String, channel: String, removed: [String], stored: StoredColumns, logged: ChangeColumns
    ) -> PostgresQuery {
        let count = logged.keys.count
        // Data-modifying CTEs all run, in one snapshot: the removed and the stored keys are
        // disjoint.
        return """
            WITH removed AS (
                DELETE FROM memory_records m USING unnest((SELECT \(removed)::text[])) AS gone(name)
                CROSS JOIN LATERAL (
                    SELECT ctid AS tid FROM memory_records x WHERE x.namespace = \(name)::text AND x.key = gone.name LIMIT 1
                ) AS found
                WHERE m.ctid = found.tid
            ), stored AS (
                INSERT INTO memory_records (namespace, key, value, value_text, version, created_at, updated_at, author, expires_at, size)
                SELECT \(name), s.key, s.json::jsonb, s.json, s.version, to_timestamp(s.created), to_timestamp(s.updated),
                       CASE WHEN s.has_author THEN s.author END, CASE WHEN s.has_expiry THEN to_timestamp(s.expires) END, s.size
                FROM unnest(\(stored.keys)::text[], \(stored.jsons)::text[], \(stored.versions)::int8[],
                            \(stored.created)::float8[], \(stored.updated)::float8[], \(stored.authors)::text[],
                            \(stored.hasAuthor)::bool[], \(stored.expires)::float8[], \(stored.hasExpiry)::bool[],
                            \(stored.sizes)::int8[])
                     AS s(key, json, version, created, updated, author, has_author, expires, has_expiry, size)
                ON CONFLICT (namespace, key) DO UPDATE SET
                    value = excluded.value, value_text = excluded.value_text, version = excluded.version,
                    created_at = excluded.created_at, updated_at = excluded.updated_at, author = excluded.author,
                    expires_at = excluded.expires_at, size = excluded.size, search_vector = NULL
            ), next AS (
                UPDATE memory_namespaces SET last_sequence = last_sequence + \(count)
                WHERE namespace = \(name) AND \(count)::int8 > 0 RETURNING last_sequence
            ), logged AS (
                INSERT INTO memory_changes (namespace, sequence, key, operation, version, author, time)
                SELECT \(name), next.last_sequence - \(count) + c.position, c.key, c.operation, c.version,
                       CASE WHEN c.has_author THEN c.author END, to_timestamp(c.time)
                FROM next, unnest(\(logged.keys)::text[], \(logged.operations)::text[], \(logged.versions)::int8[],
                                  \(logged.authors)::text[], \(logged.hasAuthor)::bool[], \(logged.times)::float8[])
                     WITH ORDINALITY AS c(key, operation, version, author, has_author, time, position)
                RETURNING sequence
            )
            SELECT pg_notify(\(channel), max(sequence)::text || ' ' || \(name)) FROM logged HAVING count(*) > 0
            """
    }
}

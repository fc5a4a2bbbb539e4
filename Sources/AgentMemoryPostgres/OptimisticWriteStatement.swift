import AgentMemoryCore
import Foundation
import PostgresNIO

/// A write planned against rows read without a lock: one autocommit statement that writes it
/// only if every key is still as read, else writes nothing.
///
/// The statement takes the namespace's counter row first (an upsert adding the number of
/// change-log entries), so it queues behind every writer of the namespace exactly as the
/// locked transaction does, and then, each row checked against what was read:
/// - a row that was there is updated or deleted only if its version, times, expiry and size
///   (when known: a staged batch's read does not carry it) are still those read (under READ COMMITTED a row changed meanwhile is re-checked in its
///   newest version, and one deleted meanwhile is skipped);
/// - a row that was absent is inserted only if it is still absent (`ON CONFLICT DO NOTHING`);
/// - the change-log entries are numbered from the counter, and watchers are told.
///
/// When fewer rows were written than planned, the statement fails with a cast error that
/// carries ``marker``, so that the whole statement, counter and change log included, is
/// rolled back: sequence numbers stay gap-free. The caller then runs the locked transaction.
package struct OptimisticWriteStatement {
    /// The text of the error that means "a key moved since it was read".
    static let marker = "agent-memory: optimistic write conflict"

    private var inserted = StoredColumns()
    private var updated = StoredColumns()
    private var updatedFrom = ExpectedColumns()
    private var removed = ExpectedColumns()
    private var logged = ChangeColumns()

    /// A statement that writes nothing yet.
    package init() {}

    /// Writes `record` over the row read as `expected` (`nil`: none was there).
    package mutating func store(key: MemoryKey, record: MemoryRecord, json: String, size: Int, replacing expected: ReadStamp?) {
        if let expected {
            updated.append(key: key, record: record, json: json, size: size)
            updatedFrom.append(key: key, stamp: expected)
        } else {
            inserted.append(key: key, record: record, json: json, size: size)
        }
    }

    /// Deletes the row read as `expected`.
    package mutating func remove(key: MemoryKey, expected: ReadStamp) {
        removed.append(key: key, stamp: expected)
    }

    /// Adds the change-log entry of `key`, numbered in the order of these calls.
    package mutating func log(key: MemoryKey, change: ChangeDraft) {
        logged.append(key: key, change: change)
    }

    /// Whether `error` is the statement's own "a key moved" failure.
    static func isConflict(_ error: PSQLError) -> Bool {
        error.serverInfo?[.sqlState] == "22P02" && error.serverInfo?[.message]?.contains(marker) == true
    }

    /// The statement, prepared once per connection: its text is the same whatever it writes.
    /// `token` is the write's ``CommitToken``.
    func prepared(namespace: String, channel: String, token: String) -> PreparedQuery<OptimisticWriteStatement> {
        PreparedQuery(query(namespace: namespace, channel: channel, token: token))
    }

    /// The statement; every parameter is cast, as a prepared statement needs.
    package func query(namespace name: String, channel: String, token: String) -> PostgresQuery {
        let count = logged.keys.count
        let writes = inserted.keys.count + updated.keys.count + removed.keys.count
        let u = updated, e = updatedFrom, i = inserted, r = removed
        // `extract(epoch ...)::float8` is how the rows were read, so equal times compare equal.
        // The rows to delete or update are found by one probe of the primary key per key: their
        // arrays are behind sub-selects, so that the planner does not see their length. Seeing
        // 2,000 keys, it hashed a scan of the namespace's whole table to join them (2,000
        // updates in a table of 40,000 records: 79 to 138 ms, 43 to 70 by probes; BENCHMARKS.md,
        // rounds fifty-one and fifty-three). Its guess of 10 rows keeps the probes whatever it
        // knows of the table (`PostgresWritePlanTests`). Each key is probed in a subquery of its
        // own, and its row then reached by its tuple id: as a join of the keys with the table,
        // statistics older than the namespace's rows (a namespace filled since the last
        // `ANALYZE`) made the planner scan all of the namespace's rows to match the keys
        // (`PostgresStaleStatisticsTests`). Under READ COMMITTED a row changed since the probe is
        // checked in its newest version by the conditions on its version, times, expiry and
        // size, as before (PostgreSQL 15 does not compare the tuple id again there; a server
        // that did would skip the row, and the write would go to the locked transaction).
        return """
            WITH next AS (
                INSERT INTO memory_namespaces AS n (namespace, last_sequence) VALUES (\(name)::text, \(count)::int8)
                ON CONFLICT (namespace) DO UPDATE SET last_sequence = n.last_sequence + excluded.last_sequence
                RETURNING last_sequence
            ), removed AS (
                DELETE FROM memory_records m
                USING next, unnest((SELECT \(r.keys)::text[]), (SELECT \(r.versions)::int8[]), (SELECT \(r.created)::float8[]),
                                   (SELECT \(r.updated)::float8[]), (SELECT \(r.expires)::float8[]),
                                   (SELECT \(r.hasExpiry)::bool[]), (SELECT \(r.sizes)::int8[]))
                     AS e(key, version, created, updated, expires, has_expiry, size)
                CROSS JOIN LATERAL (
                    SELECT ctid AS tid FROM memory_records x WHERE x.namespace = \(name)::text AND x.key = e.key LIMIT 1
                ) AS found
                WHERE m.ctid = found.tid AND m.version = e.version
                  AND extract(epoch FROM m.created_at)::float8 = e.created AND extract(epoch FROM m.updated_at)::float8 = e.updated
                  AND (m.expires_at IS NOT NULL) = e.has_expiry
                  AND (m.expires_at IS NULL OR extract(epoch FROM m.expires_at)::float8 = e.expires) AND (e.size < 0 OR m.size = e.size)
                RETURNING m.key
            ), updated AS (
                UPDATE memory_records m SET
                    value = s.json::jsonb, value_text = s.json, version = s.version, created_at = to_timestamp(s.created),
                    updated_at = to_timestamp(s.updated), author = CASE WHEN s.has_author THEN s.author END,
                    expires_at = CASE WHEN s.has_expiry THEN to_timestamp(s.expires) END, size = s.size, search_vector = NULL
                FROM next, unnest((SELECT \(u.keys)::text[]), (SELECT \(u.jsons)::text[]), (SELECT \(u.versions)::int8[]),
                                  (SELECT \(u.created)::float8[]), (SELECT \(u.updated)::float8[]), (SELECT \(u.authors)::text[]),
                                  (SELECT \(u.hasAuthor)::bool[]), (SELECT \(u.expires)::float8[]), (SELECT \(u.hasExpiry)::bool[]),
                                  (SELECT \(u.sizes)::int8[]), (SELECT \(e.versions)::int8[]), (SELECT \(e.created)::float8[]),
                                  (SELECT \(e.updated)::float8[]), (SELECT \(e.expires)::float8[]), (SELECT \(e.hasExpiry)::bool[]),
                                  (SELECT \(e.sizes)::int8[]))
                     AS s(key, json, version, created, updated, author, has_author, expires, has_expiry, size,
                          e_version, e_created, e_updated, e_expires, e_has_expiry, e_size)
                CROSS JOIN LATERAL (
                    SELECT ctid AS tid FROM memory_records x WHERE x.namespace = \(name)::text AND x.key = s.key LIMIT 1
                ) AS found
                WHERE m.ctid = found.tid AND m.version = s.e_version
                  AND extract(epoch FROM m.created_at)::float8 = s.e_created AND extract(epoch FROM m.updated_at)::float8 = s.e_updated
                  AND (m.expires_at IS NOT NULL) = s.e_has_expiry
                  AND (m.expires_at IS NULL OR extract(epoch FROM m.expires_at)::float8 = s.e_expires) AND (s.e_size < 0 OR m.size = s.e_size)
                RETURNING m.key
            ), inserted AS (
                INSERT INTO memory_records (namespace, key, value, value_text, version, created_at, updated_at, author, expires_at, size)
                SELECT \(name)::text, s.key, s.json::jsonb, s.json, s.version, to_timestamp(s.created), to_timestamp(s.updated),
                       CASE WHEN s.has_author THEN s.author END, CASE WHEN s.has_expiry THEN to_timestamp(s.expires) END, s.size
                FROM next, unnest(\(i.keys)::text[], \(i.jsons)::text[], \(i.versions)::int8[], \(i.created)::float8[],
                                  \(i.updated)::float8[], \(i.authors)::text[], \(i.hasAuthor)::bool[], \(i.expires)::float8[],
                                  \(i.hasExpiry)::bool[], \(i.sizes)::int8[])
                     AS s(key, json, version, created, updated, author, has_author, expires, has_expiry, size)
                ON CONFLICT (namespace, key) DO NOTHING
                RETURNING key
            ), logged AS (
                INSERT INTO memory_changes (namespace, sequence, key, operation, version, author, time)
                SELECT \(name)::text, next.last_sequence - \(count)::int8 + c.position, c.key, c.operation, c.version,
                       CASE WHEN c.has_author THEN c.author END, to_timestamp(c.time)
                FROM next, unnest(\(logged.keys)::text[], \(logged.operations)::text[], \(logged.versions)::int8[],
                                  \(logged.authors)::text[], \(logged.hasAuthor)::bool[], \(logged.times)::float8[])
                     WITH ORDINALITY AS c(key, operation, version, author, has_author, time, position)
                RETURNING sequence
            ), written AS (
                SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) AS rows
            ), checked AS (
                SELECT CASE WHEN written.rows = \(writes)::int8 THEN (SELECT max(sequence) FROM logged)
                            ELSE CAST(\(Self.marker)::text || ': ' || written.rows::text || ' of ' || \(writes)::int8::text || ' rows' AS int8)
                       END AS last
                FROM written
            )
            SELECT pg_notify(\(channel)::text, last::text || ' ' || \(name)::text),
                   set_config(\(unescaped: CommitToken.setting), \(token)::text, false)
            FROM checked WHERE last IS NOT NULL
            """
    }
}

extension OptimisticWriteStatement: PreparedQueryTemplate {
    static let template = OptimisticWriteStatement().query(namespace: "", channel: "", token: "")
}

/// The optimistic write of one key with one change-log entry (a single put or delete, the
/// usual call): ``OptimisticWriteStatement`` with one-value parameters instead of arrays.
///
/// With arrays of unknown length PostgreSQL's generic plan looks dearer than one planned for
/// the values at hand, so the array statement is planned again at every call (about half a
/// millisecond, more than running it); with one-value parameters the generic plan is as
/// good, so it is planned once per connection.
///
/// The row to update or delete is found by the key's own parameter, which the primary key's
/// probe takes whatever the join order: joined on the one-row `w`, the key was the planner's
/// to place, and with statistics older than the namespace's rows it read the namespace's whole
/// range of the primary key for every put (24 to 39 ms a put in a namespace of 14,000
/// records; `PostgresStaleStatisticsTests`, BENCHMARKS.md round fifty-seven).
package enum SingleOptimisticWrite: PreparedQueryTemplate {
    /// What the statement does to the key's row.
    package enum Action {
        /// The key had no row: insert it if it still has none.
        case insert(MemoryRecord, json: String, size: Int)
        /// Write over the row read as `expected` if it is still as read.
        case update(MemoryRecord, json: String, size: Int, expected: ReadStamp)
        /// Delete the row read as `expected` if it is still as read.
        case remove(expected: ReadStamp)
    }

    static func prepared(
        namespace: String, channel: String, key: MemoryKey, action: Action, change: ChangeDraft, token: String
    ) -> PreparedQuery<SingleOptimisticWrite> {
        PreparedQuery(query(namespace: namespace, channel: channel, key: key.rawValue, action: action, change: change, token: token))
    }

    static let template = query(
        namespace: "", channel: "", key: "", action: .remove(expected: ReadStamp(version: 0, created: 0, updated: 0, expires: nil, size: 0)),
        change: nil, token: "")

    /// The statement (`change` is `nil` only for the template: the text is the same); `token`
    /// is the write's ``CommitToken``.
    package static func query(
        namespace name: String, channel: String, key: String, action: Action, change: ChangeDraft?, token: String
    ) -> PostgresQuery {
        let operation: String
        var record: MemoryRecord?
        var json: String?
        var size: Int64?
        var expected: ReadStamp?
        switch action {
        case .insert(let stored, let text, let bytes):
            (operation, record, json, size) = ("insert", stored, text, Int64(bytes))
        case .update(let stored, let text, let bytes, let read):
            (operation, record, json, size, expected) = ("update", stored, text, Int64(bytes), read)
        case .remove(let read):
            (operation, expected) = ("remove", read)
        }
        let version = record.map { Int64($0.version) }
        let created = record?.createdAt.timeIntervalSince1970
        let updated = record?.updatedAt.timeIntervalSince1970
        let expires = record?.expiresAt?.timeIntervalSince1970
        let expectedVersion = expected.map { Int64($0.version) }
        let expectedSize = expected.map { Int64($0.size) }
        return """
            WITH w AS (
                SELECT \(operation)::text AS op, \(key)::text AS key, \(json)::text AS json, \(version)::int8 AS version,
                       \(created)::float8 AS created, \(updated)::float8 AS updated, \(record?.author)::text AS author,
                       \(expires)::float8 AS expires, \(size)::int8 AS size, \(expectedVersion)::int8 AS e_version,
                       \(expected?.created)::float8 AS e_created, \(expected?.updated)::float8 AS e_updated,
                       \(expected?.expires)::float8 AS e_expires, \(expectedSize)::int8 AS e_size,
                       \(change?.operation.rawValue)::text AS operation, \(change.map { Int64($0.version) })::int8 AS change_version,
                       \(change?.author)::text AS change_author, \(change?.time.timeIntervalSince1970)::float8 AS time
            ), next AS (
                INSERT INTO memory_namespaces AS n (namespace, last_sequence) VALUES (\(name)::text, 1)
                ON CONFLICT (namespace) DO UPDATE SET last_sequence = n.last_sequence + 1
                RETURNING last_sequence
            ), removed AS (
                DELETE FROM memory_records m USING next, w
                WHERE w.op = 'remove' AND m.namespace = \(name)::text AND m.key = \(key)::text AND m.version = w.e_version
                  AND extract(epoch FROM m.created_at)::float8 = w.e_created AND extract(epoch FROM m.updated_at)::float8 = w.e_updated
                  AND ((m.expires_at IS NULL AND w.e_expires IS NULL) OR extract(epoch FROM m.expires_at)::float8 = w.e_expires)
                  AND (w.e_size < 0 OR m.size = w.e_size)
                RETURNING m.key
            ), updated AS (
                UPDATE memory_records m SET
                    value = w.json::jsonb, value_text = w.json, version = w.version, created_at = to_timestamp(w.created),
                    updated_at = to_timestamp(w.updated), author = w.author, expires_at = to_timestamp(w.expires), size = w.size,
                    search_vector = NULL
                FROM next, w
                WHERE w.op = 'update' AND m.namespace = \(name)::text AND m.key = \(key)::text AND m.version = w.e_version
                  AND extract(epoch FROM m.created_at)::float8 = w.e_created AND extract(epoch FROM m.updated_at)::float8 = w.e_updated
                  AND ((m.expires_at IS NULL AND w.e_expires IS NULL) OR extract(epoch FROM m.expires_at)::float8 = w.e_expires)
                  AND (w.e_size < 0 OR m.size = w.e_size)
                RETURNING m.key
            ), inserted AS (
                INSERT INTO memory_records (namespace, key, value, value_text, version, created_at, updated_at, author, expires_at, size)
                SELECT \(name)::text, w.key, w.json::jsonb, w.json, w.version, to_timestamp(w.created), to_timestamp(w.updated),
                       w.author, to_timestamp(w.expires), w.size
                FROM next, w WHERE w.op = 'insert'
                ON CONFLICT (namespace, key) DO NOTHING
                RETURNING key
            ), logged AS (
                INSERT INTO memory_changes (namespace, sequence, key, operation, version, author, time)
                SELECT \(name)::text, next.last_sequence, w.key, w.operation, w.change_version, w.change_author, to_timestamp(w.time)
                FROM next, w
                RETURNING sequence
            ), written AS (
                SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) AS rows
            ), checked AS (
                SELECT CASE WHEN written.rows = 1 THEN (SELECT max(sequence) FROM logged)
                            ELSE CAST(\(OptimisticWriteStatement.marker)::text || ': ' || written.rows::text || ' of 1 rows' AS int8)
                       END AS last
                FROM written
            )
            SELECT pg_notify(\(channel)::text, last::text || ' ' || \(name)::text),
                   set_config(\(unescaped: CommitToken.setting), \(token)::text, false)
            FROM checked WHERE last IS NOT NULL
            """
    }
}

/// The rows of an optimistic write's keys (distinct), read without a lock, and the database
/// clock: one row at least, with the record's columns `NULL` when no key matched.
///
/// One probe of the primary key per key, as ``LockedWrite/load(namespace:keys:valueKeys:)``
/// reads them: as `key = ANY($keys)`, the namespace's whole range of the primary key was
/// scanned with the keys as a filter, 16 to 35 ms for 2,000 keys among 200,000 records against
/// 11 to 12 by probes (BENCHMARKS.md, round fifty-four). Each probe is a subquery of its own
/// (``PostgresTransactionWriter/probedColumns``), whatever the planner believes of the table.
package enum OptimisticRead: PreparedQueryTemplate {
    static func prepared(namespace: String, keys: [String], valueKeys: [String]) -> PreparedQuery<OptimisticRead> {
        PreparedQuery(query(namespace: namespace, keys: keys, valueKeys: valueKeys))
    }

    /// The statement; every parameter is cast, as a prepared statement needs.
    package static func query(namespace: String, keys: [String], valueKeys: [String]) -> PostgresQuery {
        """
        SELECT \(unescaped: PostgresTransactionWriter.readColumns),
               CASE WHEN m.key = ANY(\(ArrayColumn(valueKeys))::text[]) THEN m.value_text END
        FROM (SELECT) AS clock LEFT JOIN (
            unnest((SELECT \(ArrayColumn(keys))::text[])) AS wanted(name)
            CROSS JOIN LATERAL (
                SELECT \(unescaped: PostgresTransactionWriter.probedColumns) FROM memory_records
                WHERE namespace = \(namespace)::text AND key = wanted.name LIMIT 1
            ) AS m
        ) ON true
        """
    }

    static let template = query(namespace: "", keys: [], valueKeys: [])
}

/// The rows a write expects to find, as parallel arrays for `unnest` (see ``StoredColumns``).
struct ExpectedColumns {
    var keys = ArrayColumn<String>()
    var versions = ArrayColumn<Int64>()
    var created = ArrayColumn<Double>()
    var updated = ArrayColumn<Double>()
    var expires = ArrayColumn<Double>()
    var hasExpiry = ArrayColumn<Bool>()
    var sizes = ArrayColumn<Int64>()

    mutating func append(key: MemoryKey, stamp: ReadStamp) {
        keys.append(key.rawValue)
        versions.append(Int64(stamp.version))
        created.append(stamp.created)
        updated.append(stamp.updated)
        expires.append(stamp.expires ?? 0)
        hasExpiry.append(stamp.expires != nil)
        sizes.append(Int64(stamp.size))
    }
}

/// ``OptimisticRead`` of one key (a single put or delete, the usual call), with one-value
/// parameters: with arrays PostgreSQL plans the prepared read again at every call (the server's
/// log shows its bind taking about 65 µs, against 10 µs for a statement it plans once), as it
/// did for the write (see ``SingleOptimisticWrite``).
package enum SingleOptimisticRead: PreparedQueryTemplate {
    static func prepared(namespace: String, key: String, withValue: Bool) -> PreparedQuery<SingleOptimisticRead> {
        PreparedQuery(query(namespace: namespace, key: key, withValue: withValue))
    }

    /// The statement; every parameter is cast, as a prepared statement needs.
    package static func query(namespace: String, key: String, withValue: Bool) -> PostgresQuery {
        """
        SELECT \(unescaped: PostgresTransactionWriter.readColumns),
               CASE WHEN \(withValue)::bool THEN m.value_text END
        FROM (SELECT) AS clock LEFT JOIN memory_records m ON m.namespace = \(namespace)::text AND m.key = \(key)::text
        """
    }

    static let template = query(namespace: "", key: "", withValue: false)
}

/// A row's columns as read, times in the seconds the database gave (compared exactly).
package struct ReadStamp {
    /// The row's version.
    package let version: Int
    /// Its creation time, in seconds since 1970.
    package let created: Double
    /// Its last update's time, in seconds since 1970.
    package let updated: Double
    /// Its expiry, in seconds since 1970, if it has one.
    package let expires: Double?
    /// The row's size; -1 when not known (a row a staged batch read: not compared).
    package let size: Int

    /// The stamp of a row read with these columns.
    package init(version: Int, created: Double, updated: Double, expires: Double?, size: Int) {
        (self.version, self.created, self.updated, self.expires, self.size) = (version, created, updated, expires, size)
    }
}

extension ReadStamp {
    /// The stamp of a live row without an expiry as a staged batch read it (``PostgresMemoryStore/commit(_:in:)``).
    ///
    /// Its times are the seconds the database gave (`extract(epoch FROM t)::float8`): a `Date`
    /// made from a number of seconds since 1970 keeps them counted from 2001, and both steps,
    /// taking the whole seconds between the two epochs away and adding them back, are exact for
    /// any double of a time (a multiple of its last place, which divides a whole number of
    /// seconds), so the `Date` gives the very double back (`ReadStampTests`).
    init(planned stamp: RecordStamp) {
        self.init(
            version: stamp.version, created: stamp.createdAt.timeIntervalSince1970, updated: stamp.updatedAt.timeIntervalSince1970,
            expires: nil, size: -1)
    }
}

/// A key written by an optimistic write moved since it was read (or the write needs the
/// namespace lock): nothing was written; run the locked transaction.
struct OptimisticWriteConflict: Error {}

/// How an optimistic write's commit is confirmed without a round trip of its own.
///
/// The write statement ends by setting a session setting to a value of its own (the token),
/// for the session (`set_config(..., false)`): PostgreSQL undoes a setting changed in a
/// transaction that rolls back, so the session shows the token afterwards only if the write's
/// transaction committed. The statement that reads the setting (``confirmation``) is queued on
/// the connection right behind the write, and PostgresNIO sends it when the write's
/// `ReadyForQuery` arrives, from the event loop, without waiting for the caller (see
/// ``StatementGuard/rowsConfirmingCommit(token:on:timeout:logger:_:)``).
enum CommitToken {
    /// The session setting (a custom, dotted name: PostgreSQL accepts any).
    static let setting = "'agent_memory.committed'"

    /// Reads the setting (`NULL` when the session never set it).
    static let confirmation = PostgresQuery(unsafeSQL: "SELECT current_setting(\(setting), true)")

    /// A value no earlier write of the session used.
    static func make() -> String {
        String(UInt64.random(in: .min ... .max), radix: 36) + String(UInt64.random(in: .min ... .max), radix: 36)
    }
}

import AgentMemoryCore
import Foundation
import PostgresNIO

/// One write transaction's view of its namespace, for ``AsyncRecordWriter``: the rows of the
/// keys it writes (read together, locked), and the writes it has planned, sent together.
///
/// Round trips are what a PostgreSQL write costs, so the writer reads the current rows of a
/// whole batch in one statement (``load(_:withValues:)``, one probe of the primary key per key), answers
/// ``row(for:)`` from what it read and wrote, keeps the namespace's usage up to date itself
/// once it has counted it, and defers the record and change-log statements until
/// ``flush()``, which sends them as one statement. The transaction (see
/// ``PostgresMemoryStore/transaction(in:_:)``) flushes before it commits; a purge flushes
/// first so that the database holds every write it has planned.
///
/// In ``Mode/optimistic`` the writer runs outside a transaction: it reads the rows without
/// locking them, and ``flush()`` sends one autocommit statement that writes only if every
/// key is still as read (see ``OptimisticWriteStatement``), else fails with
/// ``OptimisticWriteConflict`` and writes nothing; the caller then runs the locked transaction.
///
/// Used by one task, inside one transaction; not `Sendable`.
final class PostgresTransactionWriter: AsyncRecordWriter {
    /// Whether the writer runs inside a transaction that holds the namespace lock, or
    /// optimistically, outside one.
    enum Mode {
        case locked
        case optimistic
    }

    private let session: PostgresSession
    private let namespace: Namespace
    /// The channel `pg_notify` tells watchers on.
    private let channel: String
    private let mode: Mode
    /// Each key's row as read from the database, before this writer's writes (optimistic mode).
    private var read: [MemoryKey: ReadStamp?] = [:]
    /// Each key's row as this transaction sees it (`nil`: no row); keys never read are absent.
    private var rows: [MemoryKey: CurrentRow?] = [:]
    /// What the database must hold for each key written since the last flush.
    private var pending: [MemoryKey: PendingRow] = [:]
    /// Change-log entries since the last flush, in commit order.
    private var changes: [(key: MemoryKey, change: ChangeDraft)] = []
    /// The namespace's usage with every planned write counted, once it has been read.
    private var knownUsage: NamespaceUsage?

    private enum PendingRow {
        case store(MemoryRecord, json: String, size: Int)
        case remove
    }

    init(session: PostgresSession, namespace: Namespace, channel: String, mode: Mode = .locked) {
        self.session = session
        self.namespace = namespace
        self.channel = channel
        self.mode = mode
    }

    /// The columns of a row as ``load(_:withValues:)`` decodes them (`m` is the records' table),
    /// after which each reading statement gives the value or `NULL`: the database clock, then
    /// the key, version, times, author, expiry and size, times as the seconds the write
    /// statements compare exactly (``ReadStamp``).
    static let readColumns = """
        extract(epoch FROM clock_timestamp())::float8, m.key, m.version, extract(epoch FROM m.created_at)::float8,
        extract(epoch FROM m.updated_at)::float8, m.author, extract(epoch FROM m.expires_at)::float8, m.size
        """

    /// The records' columns that ``readColumns`` and the value read, where the reads of many
    /// keys probe the primary key once per key: in a subquery of its own per key
    /// (`CROSS JOIN LATERAL (SELECT probedColumns FROM memory_records WHERE namespace = ... AND
    /// key = wanted.name LIMIT 1) AS m`), which the `LIMIT` keeps the planner from merging into
    /// a join. As a join, the planner chose its order from the table's statistics: where they
    /// were older than the namespace's rows (a namespace filled since the last `ANALYZE`), it
    /// took the namespace for one row and scanned all of its rows to match the keys, in every
    /// write (`PostgresStaleStatisticsTests`; BENCHMARKS.md, round fifty-seven).
    static let probedColumns = "key, version, created_at, updated_at, author, expires_at, size, value_text"

    /// Reads the rows of `keys` in one statement (locking them in ``Mode/locked``); the values
    /// only of `valueKeys` (the keys appended to: a put or a delete never needs the old value).
    /// Returns the database clock's time, read by the same statement.
    @discardableResult
    func load(_ keys: [MemoryKey], withValues valueKeys: [MemoryKey]) async throws -> Double? {
        let wanted = Array(Set(keys.filter { rows[$0] == nil }))
        guard !wanted.isEmpty else { return nil }
        let names = wanted.map(\.rawValue)
        let valueNames = Array(Set(valueKeys)).map(\.rawValue)
        // One row at least (the clock), with the record's columns `NULL` when none matched.
        let found = mode == .locked
            ? try await session.rows(LockedWrite.load(namespace: namespace.name, keys: names, valueKeys: valueNames))
            : names.count == 1
                ? try await session.rows(prepared: SingleOptimisticRead.prepared(
                    namespace: namespace.name, key: names[0], withValue: valueNames.contains(names[0])))
                : try await session.rows(prepared: OptimisticRead.prepared(namespace: namespace.name, keys: names, valueKeys: valueNames))
        reserve(wanted.count)
        for key in wanted {
            rows.updateValue(nil, forKey: key)
            if mode == .optimistic { read.updateValue(nil, forKey: key) }
        }
        var now: Double?
        for row in found {
            let (clock, key, version, created, updated, author, expires, size, json) = try row.decode(
                (Double, String?, Int?, Double?, Double?, String?, Double?, Int?, String?).self)
            now = clock
            guard let key, let version, let created, let updated, let size else { continue }
            let stamp = RecordStamp(
                version: version, createdAt: Date(timeIntervalSince1970: created), updatedAt: Date(timeIntervalSince1970: updated),
                author: author, expiresAt: expires.map { Date(timeIntervalSince1970: $0) })
            // A row read without its value is never appended to (see `valueKeys`); should that
            // change, the empty text fails to parse rather than passing for a value.
            rows.updateValue(CurrentRow(stamp: stamp, size: size, json: json ?? ""), forKey: MemoryKey(checked: key))
            if mode == .optimistic {
                read.updateValue(
                    ReadStamp(version: version, created: created, updated: updated, expires: expires, size: size),
                    forKey: MemoryKey(checked: key))
            }
        }
        return now
    }

    /// The row each planned key's first plan expects, as the staged batch that planned them read
    /// it: the live row its outcome replaced, or none (`nil`). `nil` altogether when a row
    /// cannot be checked that way without a read: one with an expiry (it may have expired
    /// since; the read at commit tells).
    static func plannedRows(_ plans: [WritePlan]) -> [MemoryKey: RecordStamp?]? {
        var planned: [MemoryKey: RecordStamp?] = [:]
        planned.reserveCapacity(plans.count)
        for plan in plans where planned[plan.key] == nil {
            guard plan.expectedVersion > 0 else {
                planned.updateValue(nil, forKey: plan.key)
                continue
            }
            guard let previous = plan.outcome.previous, previous.version == plan.expectedVersion, previous.expiresAt == nil
            else { return nil }
            planned.updateValue(previous, forKey: plan.key)
        }
        return planned
    }

    /// Takes the rows of the keys as ``plannedRows(_:)`` gave them instead of reading them
    /// (optimistic mode). The write statement then checks each row's version and times against
    /// them (``ReadStamp/init(planned:)``), so a key that moved since the batch read it fails the
    /// statement as a key that moved since a read at commit would.
    func assume(_ planned: [MemoryKey: RecordStamp?]) {
        // Room for every planned key at once: grown an insertion at a time, the tables were
        // rehashed about a dozen times for a turn of 2,000 keys (BENCHMARKS.md, round fifty).
        reserve(planned.count)
        for (key, stamp) in planned {
            read.updateValue(stamp.map(ReadStamp.init(planned:)), forKey: key)
            // The size only matters for quotas, which a planned write never has (the store
            // sends those under the lock).
            rows.updateValue(stamp.map { CurrentRow(stamp: $0, size: 0, json: "") }, forKey: key)
        }
    }

    /// Makes room for `count` more keys in the writer's tables (a key the writer reads is one
    /// it writes and logs).
    private func reserve(_ count: Int) {
        guard count > 1 else { return }
        rows.reserveCapacity(rows.count + count)
        if mode == .optimistic { read.reserveCapacity(read.count + count) }
        pending.reserveCapacity(pending.count + count)
        changes.reserveCapacity(changes.count + count)
    }

    func row(for key: MemoryKey) async throws -> CurrentRow? {
        if let known = rows[key] { return known }
        try await load([key], withValues: [key])
        return rows[key] ?? nil
    }

    func usage() async throws -> NamespaceUsage {
        if let knownUsage { return knownUsage }
        // A count without the namespace lock could be stale by the time of the write.
        guard mode == .locked else { throw OptimisticWriteConflict() }
        try await flush()
        let counted = try await session.rows(
            "SELECT count(*), COALESCE(sum(size), 0)::bigint FROM memory_records WHERE namespace = \(namespace.name)")
        let (keys, bytes) = try counted[0].decode((Int, Int).self)
        let usage = NamespaceUsage(keys: keys, bytes: bytes)
        knownUsage = usage
        return usage
    }

    func purgeExpired(now: Date) async throws -> Int {
        guard mode == .locked else { throw OptimisticWriteConflict() }
        try await flush()
        let purged = try await session.rows("""
            DELETE FROM memory_records WHERE namespace = \(namespace.name)
              AND expires_at IS NOT NULL AND expires_at <= to_timestamp(\(now.timeIntervalSince1970)::float8)
            RETURNING key
            """)
        for row in purged {
            let key = MemoryKey(checked: try row.decode(String.self))
            if rows[key] != nil { rows.updateValue(nil, forKey: key) }
        }
        knownUsage = nil
        return purged.count
    }

    func write(_ plan: WritePlan, replacing row: CurrentRow?) async throws {
        if var usage = knownUsage {
            usage.keys += plan.keysDelta(replacing: row)
            usage.bytes += plan.bytesDelta(replacing: row)
            knownUsage = usage
        }
        switch plan.action {
        case .store(let record, let json, let size):
            rows.updateValue(CurrentRow(stamp: RecordStamp(record), size: size, json: json), forKey: plan.key)
            pending[plan.key] = .store(record, json: json, size: size)
        case .remove:
            rows.updateValue(nil, forKey: plan.key)
            pending[plan.key] = .remove
        case .none:
            break
        }
        if let change = plan.change { changes.append((plan.key, change)) }
    }

    /// Sends every write planned since the last flush as one statement: the removed rows,
    /// the stored rows (one multi-row upsert: each key once, as it ends), the change-log
    /// entries numbered from the namespace's counter, and one notification for watchers.
    func flush() async throws {
        guard !pending.isEmpty || !changes.isEmpty else { return }
        if mode == .optimistic {
            try await flushOptimistically()
            return
        }
        var removed: [String] = []
        var stored = StoredColumns()
        for (key, row) in pending {
            switch row {
            case .store(let record, let json, let size): stored.append(key: key, record: record, json: json, size: size)
            case .remove: removed.append(key.rawValue)
            }
        }
        var logged = ChangeColumns()
        for entry in changes { logged.append(key: entry.key, change: entry.change) }
        try await session.rows(LockedWrite.flush(namespace: namespace.name, channel: channel, removed: removed, stored: stored, logged: logged))
        pending.removeAll(keepingCapacity: true)
        changes.removeAll(keepingCapacity: true)
    }

    /// Sends the writes as one autocommit statement that applies them only if every key
    /// written is still as read; throws ``OptimisticWriteConflict`` when one moved (nothing is
    /// written then), or when the writes cannot be checked that way.
    private func flushOptimistically() async throws {
        // Keys read but not written were not checked: a batch that mixes them with writes
        // is not known to be atomic, so it takes the lock (a single write, or no write, is).
        if read.count > 1, read.keys.contains(where: { pending[$0] == nil }) { throw OptimisticWriteConflict() }
        if pending.count == 1, changes.count == 1, let (key, row) = pending.first, changes[0].key == key {
            guard let expected = read[key] else { throw OptimisticWriteConflict() }
            let action: SingleOptimisticWrite.Action
            switch (row, expected) {
            case (.store(let record, let json, let size), nil): action = .insert(record, json: json, size: size)
            case (.store(let record, let json, let size), let expected?): action = .update(record, json: json, size: size, expected: expected)
            case (.remove, let expected?): action = .remove(expected: expected)
            case (.remove, nil): throw OptimisticWriteConflict()
            }
            let token = CommitToken.make()
            try await send(
                SingleOptimisticWrite.prepared(
                    namespace: namespace.name, channel: channel, key: key, action: action, change: changes[0].change, token: token),
                token: token)
            return
        }
        var statement = OptimisticWriteStatement()
        for (key, row) in pending {
            guard let expected = read[key] else { throw OptimisticWriteConflict() }
            switch row {
            case .store(let record, let json, let size):
                statement.store(key: key, record: record, json: json, size: size, replacing: expected)
            case .remove:
                // Removing a row that was absent when read cannot be checked without the lock.
                guard let expected else { throw OptimisticWriteConflict() }
                statement.remove(key: key, expected: expected)
            }
        }
        for entry in changes { statement.log(key: entry.key, change: entry.change) }
        let token = CommitToken.make()
        try await send(statement.prepared(namespace: namespace.name, channel: channel, token: token), token: token)
    }

    /// Runs an optimistic write statement, which sets the session setting of ``CommitToken`` to
    /// `token`, and confirms its commit (an autocommit statement commits only at the `Sync`
    /// after its `CommandComplete`); forgets the writes it made.
    private func send<Template>(_ statement: PreparedQuery<Template>, token: String) async throws {
        do {
            try await session.rowsConfirmingCommit(prepared: statement, token: token)
        } catch let error as PSQLError where OptimisticWriteStatement.isConflict(error) {
            throw OptimisticWriteConflict()
        }
        pending.removeAll(keepingCapacity: true)
        changes.removeAll(keepingCapacity: true)
        read.removeAll(keepingCapacity: true)
    }
}

/// The stored rows of a flush as parallel arrays, one per column, for `unnest`. The arrays
/// have no `NULL` elements (``ArrayColumn``), so nullable columns come with a flag array.
package struct StoredColumns {
    var keys = ArrayColumn<String>()
    var jsons = ArrayColumn<String>()
    var versions = ArrayColumn<Int64>()
    var created = ArrayColumn<Double>()
    var updated = ArrayColumn<Double>()
    var authors = ArrayColumn<String>()
    var hasAuthor = ArrayColumn<Bool>()
    var expires = ArrayColumn<Double>()
    var hasExpiry = ArrayColumn<Bool>()
    var sizes = ArrayColumn<Int64>()

    /// No rows yet.
    package init() {}

    /// Adds the row of `key`, stored as `record` with its JSON text and size.
    package mutating func append(key: MemoryKey, record: MemoryRecord, json: String, size: Int) {
        keys.append(key.rawValue)
        jsons.append(json)
        versions.append(Int64(record.version))
        created.append(record.createdAt.timeIntervalSince1970)
        updated.append(record.updatedAt.timeIntervalSince1970)
        authors.append(record.author ?? "")
        hasAuthor.append(record.author != nil)
        expires.append(record.expiresAt?.timeIntervalSince1970 ?? 0)
        hasExpiry.append(record.expiresAt != nil)
        sizes.append(Int64(size))
    }
}

/// The change-log entries of a flush as parallel arrays, in commit order.
package struct ChangeColumns {
    var keys = ArrayColumn<String>()
    var operations = ArrayColumn<String>()
    var versions = ArrayColumn<Int64>()
    var authors = ArrayColumn<String>()
    var hasAuthor = ArrayColumn<Bool>()
    var times = ArrayColumn<Double>()

    /// No entries yet.
    package init() {}

    /// Adds the entry of `key`, numbered after those added before it.
    package mutating func append(key: MemoryKey, change: ChangeDraft) {
        keys.append(key.rawValue)
        operations.append(change.operation.rawValue)
        versions.append(Int64(change.version))
        authors.append(change.author ?? "")
        hasAuthor.append(change.author != nil)
        times.append(change.time.timeIntervalSince1970)
    }
}

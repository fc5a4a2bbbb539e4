import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import GRDBSQLite

/// The SQLite side of the write rule, inside one write transaction: reads a key's row, counts
/// the namespace, and writes plans with their change-log entries. Every row it inserts, changes
/// or deletes is reported to ``SQLiteSearchIndexing``, which notes them for the index at commit.
struct SQLiteRecordWriter: RecordWriter {
    let db: Database
    let namespace: Namespace
    let store: SQLiteMemoryStore
    /// This write's change-log numbers.
    let sequences = ChangeSequences()
    /// The write path's prepared statements.
    private var statements: SQLiteWriterStatements { store.indexing.statements }
    /// Rows read ahead for a group of writes (``prefetch(_:)``).
    private let readAhead = ReadAhead()
    /// New rows and change-log entries held for multi-row inserts (``finish()``).
    private let deferred = DeferredInserts()

    /// Rows read ahead, in the order of the keys given to ``prefetch(_:)``, handed out in that
    /// order (the order a group's writes ask in), each once: a second write of the same key
    /// reads the row again, to see the first one. Handing them out by position compares each
    /// key with the one expected (the same string, so a pointer comparison) where a dictionary
    /// hashed every key twice: with the other sets a batch kept, hashing was a third of a
    /// batch's own (Swift) time. A key asked out of order ends the read-ahead.
    private final class ReadAhead {
        /// A key's row (`nil`: no row) and its id and indexed text.
        typealias Read = (row: CurrentRow?, indexed: (id: Int64, body: String)?)

        var keys: [MemoryKey] = []
        /// For each of ``keys``: its read; `nil` for a key that came earlier in the list too
        /// (read again when its turn comes, to see the earlier write).
        var reads: [Read?] = []
        var next = 0
        /// The id and indexed text of the row last handed out (or read), until it is written:
        /// what the full-text index is told before the row changes, so that an update or a
        /// delete does not read the row a second time.
        var indexed: (key: MemoryKey, id: Int64, body: String)?

        /// The read of `key` if it is the next one expected and was read ahead; `nil` when
        /// the key must be read from the database: read again (it came earlier in the list),
        /// no read-ahead, or asked out of order (which ends the read-ahead).
        func take(_ key: MemoryKey) -> Read? {
            guard next < keys.count else { return nil }
            guard keys[next] == key else {
                clear()
                return nil
            }
            defer { next += 1 }
            return reads[next]
        }

        func clear() {
            keys = []
            reads = []
            next = 0
            indexed = nil
        }
    }

    func row(for key: MemoryKey) throws -> CurrentRow? {
        if let known = readAhead.take(key) {
            readAhead.indexed = known.indexed.map { (key, $0.id, $0.body) }
            return known.row
        }
        if deferred.holds(key) { try finish() }
        let found = try SQLiteStoredRow.firstRow(try statements.statement(Self.selectCurrent, db), db: db, bind: { handle in
            _ = SQLiteBinder.bind(namespace.name, to: handle, at: 1)
            _ = SQLiteBinder.bind(key.rawValue, to: handle, at: 2)
        }, read: { handle in (row: Self.currentRow(handle), indexed: Self.indexedText(handle)) })
        readAhead.indexed = found.map { (key, $0.indexed.id, $0.indexed.body) }
        return found?.row
    }

    /// A key's row as the write rule reads it (namespace `?1`, key `?2`), then its id and the
    /// text the full-text index holds for it.
    private static let selectCurrent = SQLiteStatementText("""
        SELECT version, created_at, updated_at, author, expires_at, size, value, id, \(SQLiteIndexedBody.rowText)
        FROM memory_records
        WHERE namespace = ?1 AND key = ?2
        """)

    /// The id and indexed text of a ``selectCurrent`` row.
    private static func indexedText(_ handle: OpaquePointer) -> (id: Int64, body: String) {
        (sqlite3_column_int64(handle, 7), SQLiteStoredRow.text(handle, 8) ?? "")
    }

    /// The current row of a ``selectCurrent`` statement.
    private static func currentRow(_ handle: OpaquePointer) -> CurrentRow {
        let stamp = RecordStamp(
            version: Int(sqlite3_column_int64(handle, 0)),
            createdAt: Date(timeIntervalSince1970: sqlite3_column_double(handle, 1)),
            updatedAt: Date(timeIntervalSince1970: sqlite3_column_double(handle, 2)),
            author: SQLiteStoredRow.text(handle, 3),
            expiresAt: sqlite3_column_type(handle, 4) == SQLITE_NULL ? nil : Date(timeIntervalSince1970: sqlite3_column_double(handle, 4)))
        return CurrentRow(stamp: stamp, size: Int(sqlite3_column_int64(handle, 5)), json: SQLiteStoredRow.text(handle, 6) ?? "")
    }

    /// The rows of listed keys as ``selectCurrent`` reads them, then each one's place in the
    /// list (`json_each`'s `key` column of an array): namespace `?1`, the keys' JSON list `?2`
    /// (``SQLiteStoredRow/keyList(_:)``). One statement for a batch's keys, the list the outer
    /// loop, as ``SQLiteStoredRow/selectLiveByKeys`` reads records.
    private static let selectCurrentOfList = SQLiteStatementText("""
        SELECT m.version, m.created_at, m.updated_at, m.author, m.expires_at, m.size, m.value, m.id,
               \(SQLiteIndexedBody.expression(of: "m")), k.key
        FROM json_each(?2) AS k CROSS JOIN memory_records AS m
        WHERE m.namespace = ?1 AND m.key = k.value
        """)

    /// Reads the rows of `keys`, for the writes of a batch that follow: one statement over the
    /// list of the keys with SQLite's C API (a statement stepped per key cost half as much
    /// again; a `json_each` list read through GRDB's `Row` about twice as much). A key that
    /// comes again later in the list is not asked for: it is read again when its turn comes,
    /// to see the earlier write.
    func prefetch(_ keys: [MemoryKey]) throws {
        // Rows held by an earlier write of a group (``SharedRecordWriters``) go in first, so
        // that the statement sees them.
        try finish()
        let select = try statements.statement(Self.selectCurrentOfList, db).sqliteStatement
        readAhead.clear()
        var reads: [ReadAhead.Read?] = Array(repeating: nil, count: keys.count)
        var seen = Set<MemoryKey>()
        seen.reserveCapacity(keys.count)
        var asked: [MemoryKey] = []
        asked.reserveCapacity(keys.count)
        var places: [Int] = []
        places.reserveCapacity(keys.count)
        for (index, key) in keys.enumerated() where seen.insert(key).inserted {
            reads[index] = (row: nil, indexed: nil)
            asked.append(key)
            places.append(index)
        }
        do throws(SQLiteStoredRow.StepFailed) {
            try SQLiteStoredRow.eachListedRow(select, namespace: namespace.name, keys: asked) { handle in
                let listed = Int(sqlite3_column_int64(handle, 9))
                guard places.indices.contains(listed) else { return }
                reads[places[listed]] = (Self.currentRow(handle), Self.indexedText(handle))
            }
        } catch {
            throw SQLiteStoredRow.error(error.code, db)
        }
        readAhead.keys = keys
        readAhead.reads = reads
    }

    func usage() throws -> NamespaceUsage {
        try finish()
        let statement = try db.cachedStatement(
            sql: "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM memory_records WHERE namespace = ?")
        guard let row = try Row.fetchOne(statement, arguments: [namespace.name]) else { return NamespaceUsage(keys: 0, bytes: 0) }
        return NamespaceUsage(keys: row[0], bytes: row[1])
    }

    func purgeExpired(now: Date) throws -> Int {
        let predicate = "namespace = ? AND expires_at IS NOT NULL AND expires_at <= ?"
        let arguments: StatementArguments = [namespace.name, now.timeIntervalSince1970]
        readAhead.clear()
        try finish()
        try store.indexing.willDelete(where: predicate, arguments: arguments, db: db)
        try db.execute(sql: "DELETE FROM memory_records WHERE \(predicate)", arguments: arguments)
        return db.changesCount
    }

    func write(_ plan: WritePlan, replacing row: CurrentRow?) throws {
        switch plan.action {
        case .store(let record, let json, let size):
            if row == nil {
                deferred.holdRecord(
                    DeferredInserts.RecordRow(
                        json: json, version: record.version, createdAt: record.createdAt.timeIntervalSince1970,
                        updatedAt: record.updatedAt.timeIntervalSince1970, author: record.author,
                        expiresAt: record.expiresAt?.timeIntervalSince1970, size: size, namespace: namespace.name, key: plan.key.rawValue))
            } else {
                try willChange(plan.key)
                // Bound with SQLite's C API, as the inserts are (GRDB's arguments are existentials).
                try SQLiteStoredRow.execute(statements.statement(Self.update, db), db: db, arena: statements.textArena(db)) { binder in
                    binder.text(json)
                    binder.integer(Int64(record.version))
                    binder.real(record.createdAt.timeIntervalSince1970)
                    binder.real(record.updatedAt.timeIntervalSince1970)
                    binder.text(record.author)
                    binder.real(record.expiresAt?.timeIntervalSince1970)
                    binder.integer(Int64(size))
                    binder.text(namespace.name)
                    binder.text(plan.key.rawValue)
                }
            }
        case .remove:
            try willChange(plan.key)
            try SQLiteStoredRow.execute(statements.statement(Self.delete, db), db: db, arena: statements.textArena(db)) { binder in
                binder.text(namespace.name)
                binder.text(plan.key.rawValue)
            }
        case .none:
            break
        }
        if let change = plan.change { try log(change, key: plan.key) }
    }

    /// A row's update, bound with SQLite's C API, as the inserts are (GRDB's arguments are existentials).
    private static let update = SQLiteStatementText("""
        UPDATE memory_records SET value = ?, version = ?, created_at = ?, updated_at = ?, author = ?, expires_at = ?, size = ?
        WHERE namespace = ? AND key = ?
        """)
    private static let delete = SQLiteStatementText("DELETE FROM memory_records WHERE namespace = ? AND key = ?")

    /// Tells the full-text index about `key`'s row before it is updated or deleted: from the
    /// read that planned the write, else (a plan made from a row read elsewhere) by reading it.
    private func willChange(_ key: MemoryKey) throws {
        if let read = readAhead.indexed, read.key == key {
            readAhead.indexed = nil
            store.indexing.willChange(id: read.id, key: key.rawValue, body: read.body)
        } else {
            try store.indexing.willChange(namespace: namespace.name, key: key.rawValue, db: db)
        }
    }

    /// Inserts the held rows and change-log entries; the store calls it at the end of every
    /// write, before the transaction or savepoint ends.
    func finish() throws {
        guard !deferred.isEmpty else { return }
        try deferred.flush(db, indexing: store.indexing, statements: statements)
        sequences.publish(to: statements.memo)
    }

    /// Appends one entry to the namespace's change log, numbered after the namespace's last
    /// number (SQLite has one writer at a time, so numbers follow commit order), and now and then
    /// prunes the log.
    private func log(_ change: ChangeDraft, key: MemoryKey) throws {
        let sequence = try sequences.next(namespace: namespace.name, db: db, statements: statements)
        deferred.holdChange(
            DeferredInserts.ChangeRow(
                namespace: namespace.name, sequence: sequence, key: key.rawValue, operation: change.operation.rawValue,
                version: change.version, author: change.author, time: change.time.timeIntervalSince1970))
        if store.pruneDue() {
            try finish()
            try store.pruneChanges(now: change.time, db: db)
            sequences.forget()
        }
    }
}

/// The change-log numbers of one write (one savepoint or transaction): the namespace's last
/// number is read once, from the log itself, and counted up from there.
///
/// The last number is the larger of the log's newest entry and `memory_namespaces.last_sequence`,
/// a floor that pruning raises before it deletes entries (so numbers never go back, even when
/// every entry was pruned). Reading it costs no page write, where a counter row updated on every
/// write added one page to every commit.
final class ChangeSequences {
    private var last: [String: Int64] = [:]
    /// The namespace numbered last and its last number: a writer numbers one namespace, so
    /// this answers without hashing the name twice per write.
    private var recent: (namespace: String, number: Int64)?

    /// The next number for `namespace`.
    func next(namespace: String, db: Database, statements: SQLiteWriterStatements) throws -> Int64 {
        if let recent, recent.namespace == namespace {
            self.recent = (namespace, recent.number + 1)
            return recent.number + 1
        }
        if let recent { last[recent.namespace] = recent.number }
        let current: Int64
        if let known = last[namespace] ?? statements.memo.lastSequence(namespace) {
            current = known
        } else {
            let statement = try statements.statement(Self.selectLast, db)
            // Stepped with SQLite's C API: GRDB's arguments and row cost as much as the seeks.
            current = try SQLiteStoredRow.firstRow(statement, db: db, bind: { handle in
                _ = SQLiteBinder.bind(namespace, to: handle, at: 1)
            }, read: { handle in sqlite3_column_int64(handle, 0) }) ?? 0
        }
        // `last` keeps the other namespaces' numbers; the recent one's is written back to it
        // when another namespace is numbered.
        recent = (namespace, current + 1)
        return current + 1
    }

    private static let selectLast = SQLiteStatementText("""
        SELECT MAX(
            COALESCE((SELECT sequence FROM memory_changes WHERE namespace = ?1 ORDER BY sequence DESC LIMIT 1), 0),
            COALESCE((SELECT last_sequence FROM memory_namespaces WHERE namespace = ?1), 0))
        """)

    /// Records the last numbers given in the writer connection's memo, for the transactions
    /// after this one (``SQLiteWriterMemo``).
    func publish(to memo: SQLiteWriterMemo) {
        if let recent { memo.noteSequence(recent.namespace, recent.number) }
        for (namespace, number) in last where namespace != recent?.namespace { memo.noteSequence(namespace, number) }
    }

    /// Forgets the numbers read (after the log was pruned).
    func forget() {
        last = [:]
        recent = nil
    }
}

/// The record writers of a group of writes that run together in one transaction without
/// savepoints of their own (``GroupCommitWriter``), one per namespace: the writes leave their
/// new rows and change-log entries held, and the group inserts them all at its end with
/// multi-row statements (``finish()``); each namespace's last change number is read once.
/// Under 16 concurrent writers, each write's own one-row inserts and its read of the change
/// number were a third of the writer thread's time.
final class SharedRecordWriters {
    private var writers: [String: SQLiteRecordWriter] = [:]

    /// The group's writer for `namespace`.
    func writer(db: Database, namespace: Namespace, store: SQLiteMemoryStore) -> SQLiteRecordWriter {
        if let writer = writers[namespace.name] { return writer }
        let writer = SQLiteRecordWriter(db: db, namespace: namespace, store: store)
        writers[namespace.name] = writer
        return writer
    }

    /// Inserts every writer's held rows; the group calls it after its last write, before the
    /// transaction's commit hooks.
    func finish() throws {
        for writer in writers.values { try writer.finish() }
    }
}

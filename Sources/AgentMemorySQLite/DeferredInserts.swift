import AgentMemoryCore
import GRDB

/// New record rows and change-log entries of one write, held back and inserted with multi-row
/// statements (up to 64 rows each) instead of one statement per row: a batch of 1,000 puts
/// runs a few dozen statements, not 2,000.
///
/// Held rows are not in the database until ``flush(_:)``: the record writer flushes before any
/// statement that could see them (a read of a held key, the namespace's usage, a purge, a
/// prune) and at the end of every write.
final class DeferredInserts {
    private var records: [(any DatabaseValueConvertible)?] = []
    private var recordCount = 0
    private var changes: [(any DatabaseValueConvertible)?] = []
    private var changeCount = 0
    /// The keys of the held record rows.
    private(set) var heldKeys: Set<MemoryKey> = []

    private static let recordColumns = 9
    private static let changeColumns = 7
    private static let largestStatement = 64

    var isEmpty: Bool { recordCount == 0 && changeCount == 0 }

    /// Holds a new record row: value, version, created_at, updated_at, author, expires_at, size, namespace, key.
    func holdRecord(_ values: [(any DatabaseValueConvertible)?], key: MemoryKey) {
        records += values
        recordCount += 1
        heldKeys.insert(key)
    }

    /// Holds a change-log entry: namespace, sequence, key, operation, version, author, time.
    func holdChange(_ values: [(any DatabaseValueConvertible)?]) {
        changes += values
        changeCount += 1
    }

    /// Inserts what is held; reports each new record's id to `indexing`.
    func flush(_ db: Database, indexing: SQLiteSearchIndexing) throws {
        if recordCount > 0 {
            try Self.insert(
                records, rows: recordCount, columns: Self.recordColumns, db: db,
                head: "INSERT INTO memory_records (value, version, created_at, updated_at, author, expires_at, size, namespace, key) VALUES ",
                tail: " RETURNING id"
            ) { statement, arguments in
                for id in try Int64.fetchAll(statement, arguments: arguments) { indexing.didInsert(id: id) }
            }
            records.removeAll(keepingCapacity: true)
            recordCount = 0
            heldKeys.removeAll(keepingCapacity: true)
        }
        if changeCount > 0 {
            try Self.insert(
                changes, rows: changeCount, columns: Self.changeColumns, db: db,
                head: "INSERT INTO memory_changes (namespace, sequence, key, operation, version, author, time) VALUES ", tail: ""
            ) { statement, arguments in
                try statement.execute(arguments: arguments)
            }
            changes.removeAll(keepingCapacity: true)
            changeCount = 0
        }
    }

    /// Runs `head (?, ...), (?, ...) tail` over `values` in statements of 64, 32, ... 1 rows
    /// (a handful of shapes, so that each stays prepared in the connection's statement cache).
    private static func insert(
        _ values: [(any DatabaseValueConvertible)?], rows: Int, columns: Int, db: Database, head: String, tail: String,
        _ run: (Statement, StatementArguments) throws -> Void
    ) throws {
        var start = 0
        while start < rows {
            var size = largestStatement
            while size > rows - start { size /= 2 }
            let tuple = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
            let sql = head + Array(repeating: tuple, count: size).joined(separator: ", ") + tail
            let slice = Array(values[(start * columns)..<((start + size) * columns)])
            try run(try db.cachedStatement(sql: sql), StatementArguments(slice))
            start += size
        }
    }
}

import GRDB
import GRDBSQLite
import Synchronization

/// What the writer's connection knew when it last committed (each namespace's last change
/// number, the highest record id), kept for the next write transaction as long as nothing
/// else changed the file in between.
///
/// Without it every write transaction read them from the database: 14,800 of a single
/// put's 134,700 instructions (BENCHMARKS.md, round thirty-two). Whether the file changed is
/// SQLite's own data version (`SQLITE_FCNTL_DATA_VERSION`), read right after a commit and again
/// once the next `BEGIN IMMEDIATE` holds the write lock: it changes with every commit to the
/// file, by this connection or any other, in this process or another, and with nothing else
/// that matters here (SQLite itself relies on it to know when its page cache is stale). Any
/// other transaction on the file in between (another store or process) therefore makes the
/// next transaction read them again.
///
/// The values are offered only inside a transaction that began with ``begin(_:)``, and are
/// kept for the next one only after a commit (``committed(_:)``): a transaction rolled back,
/// or a write's savepoint rolled back, drops them (``forget()``), and the numbers are read
/// again. A stale change number or record id would not go unnoticed (given twice, it fails its
/// insert's key constraint).
///
/// Used only by code that holds the writer's connection (GRDB runs one piece of work at a
/// time on it), like ``SQLiteWriterStatements``, which owns it.
final class SQLiteWriterMemo: @unchecked Sendable {
    /// The file's data version right after the last commit that kept the values; `nil` when
    /// none did.
    private var version: UInt32?
    /// Whether a transaction begun with ``begin(_:)`` is in progress.
    private var isOpen = false
    /// Each namespace's last change number, as far as known.
    private var sequences: [String: Int64] = [:]
    /// The highest record id given, as far as known (at least the table's highest).
    private var highest: Int64?

    /// Transactions that found the values of the last commit still good (for tests).
    let kept = Atomic(0)
    /// Transactions that found them gone, or none kept (for tests).
    let dropped = Atomic(0)

    /// Called once a write transaction holds the file's write lock: keeps the last commit's
    /// values when the file is as that commit left it, else drops them.
    func begin(_ db: Database) {
        let current = Self.dataVersion(db)
        if let version, version == current {
            kept.add(1, ordering: .relaxed)
        } else {
            sequences.removeAll(keepingCapacity: true)
            highest = nil
            dropped.add(1, ordering: .relaxed)
        }
        version = nil
        isOpen = true
    }

    /// Called after the transaction's commit: its values are kept for the next one, with the
    /// file's data version as this commit left it.
    func committed(_ db: Database) {
        guard isOpen else { return }
        isOpen = false
        version = Self.dataVersion(db)
    }

    /// Called when the transaction is rolled back, or a savepoint inside it: the values are
    /// dropped (read again from the database when next needed).
    func forget() {
        sequences.removeAll(keepingCapacity: true)
        highest = nil
    }

    /// Called when the transaction ends without a commit.
    func rolledBack() {
        forget()
        isOpen = false
    }

    /// `namespace`'s last change number, when known.
    func lastSequence(_ namespace: String) -> Int64? {
        isOpen ? sequences[namespace] : nil
    }

    /// Records `number` as `namespace`'s last change number (numbers only grow).
    func noteSequence(_ namespace: String, _ number: Int64) {
        guard isOpen else { return }
        sequences[namespace] = number
    }

    /// The highest record id given, when known.
    var highestID: Int64? { isOpen ? highest : nil }

    /// Records `id` as the highest record id given; `nil` when it is not known (SQLite chose
    /// the ids).
    func noteHighestID(_ id: Int64?) {
        guard isOpen else { return }
        highest = id
    }

    /// The main database's data version on `db`'s connection (`nil` if SQLite does not say).
    private static func dataVersion(_ db: Database) -> UInt32? {
        guard let connection = db.sqliteConnection else { return nil }
        var version: UInt32 = 0
        guard sqlite3_file_control(connection, "main", SQLITE_FCNTL_DATA_VERSION, &version) == SQLITE_OK else { return nil }
        return version
    }
}

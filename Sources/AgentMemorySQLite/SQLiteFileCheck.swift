import AgentMemoryCore
import GRDB
import GRDBSQLite

/// Refuses to commit into a database file that was deleted, renamed or replaced while the store
/// had it open.
///
/// SQLite keeps writing to the open (now unlinked) inode, so without this check the store would
/// acknowledge writes that vanish when it closes. Before every commit the writer asks SQLite's
/// unix VFS whether the file at the path is still the one it has open
/// (`SQLITE_FCNTL_HAS_MOVED`, one `stat` of the path); if not, the transaction rolls back and
/// the caller gets an `unavailable` error naming the path. The check repeats at every commit,
/// so every later write is refused too, until the store is reopened. A store whose pool opens
/// after the store (``SQLitePoolConnections``) asks the same of its point reader's connection
/// first: the pool must not open, and write, a file created or put at the path meanwhile.
enum SQLiteFileCheck {
    /// Throws `unavailable` when the database file of `db` is no longer the file at `path`.
    static func refuseIfMoved(_ db: Database, path: String) throws {
        guard let connection = db.sqliteConnection, hasMoved(connection) else { return }
        throw MemoryError(
            .unavailable,
            "The SQLite file \(path) was deleted or replaced while the store had it open; "
                + "the write was refused and nothing was written. Restore the file or open the store again")
    }

    /// Whether the file at the path is no longer the one `connection` has open.
    static func hasMoved(_ connection: OpaquePointer) -> Bool {
        var moved: Int32 = 0
        return sqlite3_file_control(connection, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved != 0
    }
}

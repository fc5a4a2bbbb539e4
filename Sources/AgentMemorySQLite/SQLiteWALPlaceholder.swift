import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Spares a process that opens an existing store GRDB's write at open.
///
/// When a `DatabasePool` opens a file whose `-wal` is missing or empty, GRDB creates and drops
/// a table (`grdb_issue_102`, in `Database.setUpWALMode`) so that the WAL holds a frame. The
/// store's close checkpoints and deletes the WAL, so every process paid for that write: a
/// read-only `agent-memory recall` wrote a transaction, synced the new WAL, checkpointed the
/// frames into the database file at exit and synced it (four `fdatasync` in all), and bumped
/// the schema cookie twice, which makes every other connection to the file (a running server,
/// another process) prepare its statements again.
///
/// GRDB only looks at the file's size. So before the pool opens an existing database without
/// a `-wal`, this creates one of a single zero byte, with the database's permissions (and, as
/// root, its owner, as SQLite does). SQLite reads a WAL shorter than its 32-byte header as
/// empty (`walIndexRecover`), and writes a header over it with its first frame; a connection
/// that closes last deletes it as it would its own. It is created only where none exists
/// (`O_EXCL`), never written into a WAL another connection uses. Any failure leaves things as
/// they were: GRDB then writes its table, as before.
enum SQLiteWALPlaceholder {
    /// Creates the placeholder `-wal` beside the database at `path` when the database exists
    /// and has no `-wal`.
    static func create(besideDatabaseAt path: String) {
        var database = stat()
        guard stat(path, &database) == 0, database.st_mode & S_IFMT == S_IFREG, database.st_size > 0 else { return }
        let descriptor = open(path + "-wal", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(0o600))
        guard descriptor >= 0 else { return }
        defer { _ = close(descriptor) }
        if geteuid() == 0 { _ = fchown(descriptor, database.st_uid, database.st_gid) }
        _ = fchmod(descriptor, database.st_mode & mode_t(0o777))
        var zero: UInt8 = 0
        _ = write(descriptor, &zero, 1)
    }
}

import CSQLiteWALWrites
import GRDB

/// A durable commit's write-ahead-log frames written to the file in one write (the C target
/// `CSQLiteWALWrites`, a VFS wrapping the process's default one).
///
/// SQLite writes each frame of a commit with two calls, its header and its page, then syncs
/// the log. On this project's machines the `fdatasync` after those small writes cost several
/// times one after a single write of the same bytes (BENCHMARKS.md, round forty-four). The VFS
/// keeps a commit's frames in memory and writes them just before the commit's sync, which
/// SQLite issues, at `synchronous` FULL, before any other connection or process can learn of
/// the frames; a read of the log, a truncation or a close writes them first too. Nothing is
/// acknowledged before the sync, as before, so a crash loses no committed write.
///
/// At `synchronous` NORMAL a commit's frames are indexed (and so read by other connections and
/// processes) right after they are written, without a sync: there the VFS gathers only SQLite's
/// own pattern of appended frames and writes them as the commit frame completes, so that the
/// write completing a commit returns with all its frames in the file (any other write goes to
/// the file at once).
///
/// The VFS becomes the process's default when the first SQLite store opens (it passes every
/// file but a write-ahead log straight to the VFS it wraps, and gathers nothing until a
/// connection turns it on); the store turns gathering on for its writer connection, whose
/// `synchronous` never changes afterwards.
enum SQLiteWALWrites {
    /// Whether the VFS is registered (once per process; `false` only when SQLite has no
    /// default VFS of the version it wraps).
    static let registered: Bool = csqlitewal_register() == 1

    /// Turns gathering on for `db`'s write-ahead log, until each commit's sync at FULL or EXTRA
    /// and as each commit frame completes at NORMAL (not at OFF), when the log is open (SQLite
    /// opens it at the connection's first read) and was opened through the VFS; returns whether
    /// it is on.
    @discardableResult
    static func enable(_ db: Database) -> Bool {
        guard let connection = db.sqliteConnection else { return false }
        return csqlitewal_enable(connection) == 1
    }

    /// The writes `db`'s write-ahead log handed to the file and the writes it gathered instead,
    /// since it was opened; `nil` when the log is not one of the VFS's.
    static func counts(_ db: Database) -> (written: Int, gathered: Int)? {
        guard let connection = db.sqliteConnection else { return nil }
        var written: sqlite3_int64 = 0
        var gathered: sqlite3_int64 = 0
        guard csqlitewal_counts(connection, &written, &gathered) == 1 else { return nil }
        return (Int(written), Int(gathered))
    }
}

import AgentMemoryCore
import GRDB

/// The store's read-only connections: a GRDB pool opened with `Configuration.readonly`, at the
/// first read that needs it (a process that writes and closes opens it once, for the close's
/// look at the full-text index).
///
/// Read-only, GRDB's pool neither sets WAL mode nor looks at the `-wal` file (the writer's
/// connection, opened first, has set the mode and opened the log); its readers are the same
/// read-only connections as those of the read-write pool the store used before. The pool's
/// own writer connection is read-only too and never used.
final class SQLiteReaders: Sendable {
    private let pool = Locked<DatabasePool?>(nil)
    private let open: @Sendable () throws -> DatabasePool

    /// Readers that `open` makes at the first ``opened()``; its errors are thrown there, and
    /// the next call tries again.
    init(open: @escaping @Sendable () throws -> DatabasePool) {
        self.open = open
    }

    /// The pool, opened now if it was not (a task that asks meanwhile waits for the same opening).
    func opened() throws -> DatabasePool {
        try pool.withLock { pool in
            if let pool { return pool }
            let opened = try open()
            pool = opened
            return opened
        }
    }

    /// The pool when it is open; never opens it.
    var ifOpened: DatabasePool? { pool.withLock { $0 } }

    /// Runs `body` in a read transaction on one of the readers (on the calling thread).
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try opened().read(body)
    }

    /// Runs `body` in a read transaction on one of the readers (on GRDB's reader queue).
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await opened().read(body)
    }
}

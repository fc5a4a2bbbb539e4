import CSQLiteSettings

extension SQLiteMemoryStore {
    /// Puts this process's SQLite in multi-thread mode without memory statistics, when called
    /// before SQLite is first used; returns whether it took effect. Call it first thing in
    /// `main`, before any store or other SQLite connection opens and while no other thread can
    /// call SQLite.
    ///
    /// Debian's and most Linux distributions' SQLite is built in serialized mode: every
    /// connection has a mutex of its own, taken and released by every call (each bind, each
    /// step, each column read), and SQLite counts every allocation under one more mutex for
    /// its memory statistics. GRDB, and so the store, never lets two threads use a connection
    /// at once, so neither mutex protects anything here. Without them, measured in turn with
    /// and without (`agent-memory bench`, BENCHMARKS.md, round thirty-five): batches of 1,000
    /// puts 6 to 11% faster, searches 3 to 7%, list pages 2 to 6%; rows that wait for an fsync
    /// (single durable puts, the executor end to end, concurrent writers) unchanged.
    ///
    /// Process-wide: every connection the process opens afterwards without a threading flag of
    /// its own is in multi-thread mode too, whichever library opens it. That is safe for code
    /// that, like GRDB, uses a connection from one thread at a time; code that shares one
    /// connection between threads without a lock of its own relies on serialized mode and must
    /// open its connections with `SQLITE_OPEN_FULLMUTEX`. `sqlite3_memory_used` and the soft
    /// heap limit count nothing afterwards.
    ///
    /// The `agent-memory` command calls it at its start. Returns `false`, changing nothing, when
    /// SQLite was already in use; later calls return the first call's answer.
    @discardableResult
    public static func useMultiThreadSQLite() -> Bool {
        multiThreadSettingTookEffect
    }

    /// The first call's answer: a `static let` runs once, however many threads ask.
    private static let multiThreadSettingTookEffect = csqlitesettings_use_multithread() == 1

    /// Whether a SQLite connection opened now would have no mutex of its own (the process is in
    /// SQLite's multi-thread mode, see ``useMultiThreadSQLite()``): opens and closes a connection
    /// to `:memory:` to ask. `nil` when it cannot be opened.
    public static var sqliteIsMultiThread: Bool? {
        switch csqlitesettings_connections_are_multithread() {
        case 1: true
        case 0: false
        default: nil
        }
    }
}

import GRDB
import Synchronization

/// A statement the store runs on its writer's connection: its text and a number of its own,
/// given when the text is made (each is a `static let`), by which ``SQLiteWriterStatements``
/// finds the connection's prepared copy.
struct SQLiteStatementText: Sendable {
    /// The statement's SQL.
    let sql: String
    /// The statement's place in ``SQLiteWriterStatements``.
    let number: Int

    private static let made = Atomic(0)

    init(_ sql: String) {
        self.sql = sql
        number = Self.made.add(1, ordering: .relaxed).oldValue
    }
}

/// The statements of the write path, prepared once on the writer's connection and found by
/// number.
///
/// GRDB's `cachedStatement(sql:)` finds a prepared statement by hashing and comparing its
/// whole text, at every call: the write path's texts run to 230 bytes, and a single put's
/// eight lookups cost about 7,000 instructions, 4.5% of the put (BENCHMARKS.md, round
/// thirty-one). Here a lookup is an index into an array.
///
/// The object is bound to the writer's connection when the store opens it
/// (``bind(to:)``), before any other use, and its array is used only by code that holds that
/// connection (GRDB runs one piece of work at a time on it). A statement asked for on any
/// other connection comes from that connection's own cache, as before. The store empties it
/// (``removeAll()``) on the writer's connection before it closes it: GRDB closes its
/// connections with `sqlite3_close`, which refuses a connection with statements left.
final class SQLiteWriterStatements: @unchecked Sendable {
    /// The writer connection's identity (`ObjectIdentifier`'s bits), 0 until bound.
    private let connection = Atomic<UInt>(0)
    /// The prepared statements by ``SQLiteStatementText/number``: used only while holding the
    /// writer's connection.
    private var statements: [Statement?] = []
    /// What the writer's connection knew at its last commit (``SQLiteWriterMemo``).
    let memo = SQLiteWriterMemo()
    /// Where the writer's write statements copy their text parameters (``SQLiteTextArena``).
    private let arena = SQLiteTextArena()

    /// Binds this object to the writer's connection `db`; called once, when the connection opens.
    func bind(to db: Database) {
        connection.store(UInt(bitPattern: ObjectIdentifier(db)), ordering: .releasing)
    }

    /// The prepared statement of `text` on `db`: this object's own on the writer's connection,
    /// GRDB's cached one on any other.
    func statement(_ text: SQLiteStatementText, _ db: Database) throws -> Statement {
        guard isWriter(db) else {
            return try db.cachedStatement(sql: text.sql)
        }
        if text.number < statements.count, let statement = statements[text.number] { return statement }
        let statement = try db.makeStatement(sql: text.sql)
        if text.number >= statements.count {
            statements.append(contentsOf: repeatElement(nil, count: text.number + 1 - statements.count))
        }
        statements[text.number] = statement
        return statement
    }

    /// Runs the statement of `text` on `db` with GRDB's `execute()`. A statement that fails is
    /// dropped and prepared again at its next use, as GRDB drops a failed statement from its
    /// own cache: GRDB's next `execute()` would first reset it, and a reset after a failed
    /// step returns that step's error again (a `BEGIN` that found the file locked would report
    /// the lock at its next try, however long that one waited).
    func execute(_ text: SQLiteStatementText, _ db: Database) throws {
        let statement = try statement(text, db)
        do {
            try statement.execute()
        } catch {
            if isWriter(db), text.number < statements.count, statements[text.number] === statement { statements[text.number] = nil }
            throw error
        }
    }

    /// The arena that statements on `db` bind text from: this object's on the writer's
    /// connection (used only while holding it, one statement at a time), `nil` on any other.
    func textArena(_ db: Database) -> SQLiteTextArena? {
        isWriter(db) ? arena : nil
    }

    /// Whether `db` is the writer's connection this object is bound to.
    private func isWriter(_ db: Database) -> Bool {
        connection.load(ordering: .acquiring) == UInt(bitPattern: ObjectIdentifier(db))
    }

    /// Finalizes every statement; called on the writer's connection before it closes.
    /// Later calls of ``statement(_:_:)`` go to GRDB's cache.
    func removeAll() {
        connection.store(0, ordering: .releasing)
        statements = []
    }
}

import GRDB
import GRDBSQLite
import Testing

@testable import AgentMemorySQLite

/// Strings bound with SQLite's C API from their own UTF-8 bytes: copied (`bind(_:to:at:)`)
/// or not (`withBound`, the point reader's keys), exact bytes either way.
@Suite("SQLite: strings bound from their own bytes")
struct SQLiteBinderTests {
    /// `SELECT ?1, ?2` stepped once with `bind` setting its parameters; its two texts.
    static func selected(_ bind: (OpaquePointer, () -> [String]?) -> [String]?) throws -> [String]? {
        let db = try DatabaseQueue()
        return try db.read { db in
            let statement = try db.makeStatement(sql: "SELECT ?1, ?2")
            let handle = statement.sqliteStatement
            return bind(handle) {
                defer { sqlite3_reset(handle) }
                guard sqlite3_step(handle) == SQLITE_ROW else { return nil }
                return [0, 1].map { SQLiteStoredRow.text(handle, $0) ?? "NULL" }
            }
        }
    }

    static let texts = ["", "ключ/日本/🚀", "a\u{0}b", String(repeating: "long text ", count: 40)]

    @Test(arguments: texts)
    func boundWithoutACopyReadsBackExactly(text: String) throws {
        let read = try Self.selected { handle, step in SQLiteBinder.withBound(text, "k", to: handle, step) }
        #expect(read == [text, "k"])
        let swapped = try Self.selected { handle, step in SQLiteBinder.withBound("ns", text, to: handle, step) }
        #expect(swapped == ["ns", text])
    }

    @Test(arguments: texts)
    func boundWithACopyReadsBackExactly(text: String) throws {
        let read = try Self.selected { handle, step in
            #expect(SQLiteBinder.bind(text, to: handle, at: 1) == SQLITE_OK)
            #expect(SQLiteBinder.bind("second", to: handle, at: 2) == SQLITE_OK)
            return step()
        }
        #expect(read == [text, "second"])
    }

    @Test func aFailedBindRunsNothing() throws {
        let db = try DatabaseQueue()
        try db.read { db in
            // One parameter: binding the second fails (SQLITE_RANGE).
            let statement = try db.makeStatement(sql: "SELECT ?1")
            var ran = false
            let result: Int? = SQLiteBinder.withBound("a", "b", to: statement.sqliteStatement) {
                ran = true
                return 1
            }
            #expect(result == nil)
            #expect(!ran)
            #expect(sqlite3_step(statement.sqliteStatement) == SQLITE_ROW)
            #expect(sqlite3_column_type(statement.sqliteStatement, 0) == SQLITE_NULL)
            sqlite3_reset(statement.sqliteStatement)
        }
    }

    /// Text bound from an arena: exact bytes, block after block, with strings too long for it
    /// copied by SQLite instead; after a reset the blocks are reused and still exact.
    @Test func boundFromTheArenaReadsBackExactly() throws {
        let db = try DatabaseQueue()
        let arena = SQLiteTextArena()
        let count = 40
        let placeholders = (1...count).map { "?\($0)" }.joined(separator: ", ")
        try db.read { db in
            let statement = try db.makeStatement(sql: "SELECT \(placeholders)")
            let handle = statement.sqliteStatement
            for round in 0..<3 {
                // 40 strings of up to about 9,000 bytes: past a block's end several times;
                // every seventh one byte or more longer than a quarter of a block (copied by
                // SQLite instead).
                let strings = (0..<count).map { index -> String in
                    if index % 7 == 6 { return String(repeating: "x", count: SQLiteTextArena.blockSize / 4 + 1 + index) }
                    return String(repeating: "é\u{0}\(round)\(index)🧠", count: (index * 997 + round * 31) % 9_000 / 10)
                }
                var binder = SQLiteBinder(handle: handle, arena: arena)
                strings.forEach { binder.text($0) }
                #expect(binder.failure == nil)
                #expect(sqlite3_step(handle) == SQLITE_ROW)
                for (index, string) in strings.enumerated() {
                    #expect(SQLiteStoredRow.text(handle, Int32(index)) == string, "round \(round), string \(index)")
                }
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
                arena.reset()
            }
        }
    }
}

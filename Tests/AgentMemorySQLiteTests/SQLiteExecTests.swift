import GRDB
import Testing

@testable import AgentMemorySQLite

/// The store's statements at open without GRDB's `SQL` literals (``Database/run(_:)``,
/// ``Database/texts(_:)``): the same effects and errors as GRDB's own calls.
@Suite struct SQLiteExecTests {
    @Test func runExecutesEveryStatementAndThrowsSQLitesError() throws {
        let queue = try DatabaseQueue()
        try queue.writeWithoutTransaction { db in
            try db.run("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('a'); INSERT INTO t VALUES (NULL)")
            #expect(try db.texts("SELECT x FROM t ORDER BY rowid") == ["a", nil])
            #expect(try db.texts("SELECT x FROM t WHERE x = 'z'").isEmpty)
            #expect(try db.texts("PRAGMA temp_store") == ["0"])
            try db.run("PRAGMA temp_store = MEMORY")
            #expect(try db.texts("PRAGMA temp_store") == ["2"])
            let error = #expect(throws: DatabaseError.self) { try db.run("INSERT INTO missing VALUES (1)") }
            #expect(error?.resultCode == .SQLITE_ERROR)
            #expect(error?.message == "no such table: missing")
            #expect(error?.sql == "INSERT INTO missing VALUES (1)")
            // A failing statement after a good one: the good one ran, as with sqlite3_exec.
            #expect(throws: DatabaseError.self) { try db.run("INSERT INTO t VALUES ('b'); INSERT INTO nowhere VALUES (1)") }
            #expect(try db.texts("SELECT count(*) FROM t") == ["3"])
            #expect(throws: DatabaseError.self) { _ = try db.texts("SELECT nothing FROM t") }
        }
    }
}

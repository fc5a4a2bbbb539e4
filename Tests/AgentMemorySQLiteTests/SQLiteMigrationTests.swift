import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Testing

@testable import AgentMemorySQLite

/// A new file gets the current schema at once (`SQLiteMigrations.currentSchema`); a file that
/// already holds something gets the migrations one by one. Both must end with the same schema
/// and the same record of applied migrations, or files made the two ways would differ.
@Suite("SQLite migrations")
struct SQLiteMigrationTests {
    /// The file's schema: each table's and index's name, table and SQL text (whitespace and the
    /// spaces beside punctuation taken out: the migrations' `DROP COLUMN` edits the text in
    /// place), each table's columns (`table_xinfo`), and the applied migrations.
    static func schema(_ path: String) throws -> (objects: [String], columns: [String], migrations: [String]) {
        try DatabaseQueue(path: path).read { db in
            let objects = try Row.fetchAll(db, sql: """
                SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name != 'bystander' ORDER BY type, name
                """).map { row -> String in
                let sql = (row["sql"] as String?) ?? ""
                let compact = sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                    .replacingOccurrences(of: " ,", with: ",").replacingOccurrences(of: "( ", with: "(")
                    .replacingOccurrences(of: " )", with: ")").replacingOccurrences(of: ", ", with: ",")
                return "\(row["type"] as String) \(row["name"] as String) \(row["tbl_name"] as String): \(compact)"
            }
            var columns: [String] = []
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'bystander' ORDER BY name") {
                columns += try Row.fetchAll(db, sql: "SELECT * FROM pragma_table_xinfo(?)", arguments: [table]).map { row in
                    "\(table).\(row["name"] as String) \(row["type"] as String) notnull=\(row["notnull"] as Int) pk=\(row["pk"] as Int) hidden=\(row["hidden"] as Int)"
                }
            }
            let migrations = try String.fetchAll(db, sql: "SELECT identifier FROM agent_memory_migrations ORDER BY identifier")
            return (objects, columns, migrations)
        }
    }

    /// The file's free pages.
    static func freePages(_ path: String) throws -> Int {
        try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? -1 }
    }

    @Test func aNewFileGetsTheSchemaTheMigrationsMake() async throws {
        let fresh = try SearchIndexingTests.temporaryPath()
        try await SQLiteMemoryStore(path: fresh, idleIndexMerge: nil).close()

        // A table of someone else's: the file is not new, so the migrations run one by one.
        let stepwise = try SearchIndexingTests.temporaryPath()
        let queue = try DatabaseQueue(path: stepwise)
        try await queue.write { db in try db.execute(sql: "CREATE TABLE bystander (x)") }
        try queue.close()
        try await SQLiteMemoryStore(path: stepwise, idleIndexMerge: nil).close()

        let made = try Self.schema(fresh), migrated = try Self.schema(stepwise)
        #expect(made.objects == migrated.objects)
        #expect(made.columns == migrated.columns)
        #expect(made.migrations == migrated.migrations)
        #expect(made.migrations == SQLiteMigrations.all.map(\.identifier).filter { $0 != SQLiteMigrations.records }.sorted())
        #expect(!made.columns.contains { $0.hasPrefix("memory_records.body ") })
        // Which way each file went: the migrations create and drop the full-text tables of the
        // old layouts, which leaves free pages; the schema made at once leaves none.
        #expect(try Self.freePages(fresh) == 0)
        #expect(try Self.freePages(stepwise) > 0)
        for path in [fresh, stepwise] {
            let stamps = try await DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "SELECT stamp FROM memory_search_stamp") }
            #expect(stamps.count == 1)
            #expect(stamps.first?.count == 32)
        }
    }

    /// A store made the quick way works as any other: it writes, finds and reopens.
    @Test func aStoreOnANewFileWritesSearchesAndReopens() async throws {
        let path = try SearchIndexingTests.temporaryPath()
        let namespace = try Namespace("main")
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        _ = try await store.put("notes/fox", value: "the quick brown fox", in: namespace)
        try await store.close()
        let again = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try await again.search("fox", in: namespace, limit: 5).map(\.record.key) == ["notes/fox"])
        #expect(try await again.changes(in: namespace, since: 0, limit: 10).map(\.version) == [1])
        try await again.close()
        try SearchIndexingTests.checkIndex(path)
    }
}

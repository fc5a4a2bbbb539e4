import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import Testing

@testable import AgentMemorySQLite
import TestScratch

/// The write path's prepared statements (``SQLiteWriterStatements``): prepared once on the
/// writer's connection, never handed to another connection, a failed one prepared again, and
/// none left when the store closes.
@Suite("Writer statements")
struct WriterStatementsTests {
    static let count = SQLiteStatementText("SELECT COUNT(*) FROM names")
    static let begin = SQLiteStatementText("BEGIN IMMEDIATE TRANSACTION")
    static let rollback = SQLiteStatementText("ROLLBACK TRANSACTION")

    static func makePool(_ name: String) throws -> DatabasePool {
        let pool = try DatabasePool(path: Scratch.directory(name).appendingPathComponent("db.sqlite").path)
        try pool.write { db in try db.execute(sql: "CREATE TABLE names (name TEXT PRIMARY KEY)") }
        return pool
    }

    @Test func theWriterConnectionPreparesEachStatementOnceAndOtherConnectionsUseTheirOwn() throws {
        let pool = try Self.makePool("writer-statements-once")
        let statements = SQLiteWriterStatements()
        // Before binding, every connection uses GRDB's cache.
        try pool.writeWithoutTransaction { db in
            let statement = try statements.statement(Self.count, db)
            #expect(statement === (try db.cachedStatement(sql: Self.count.sql)))
            statements.bind(to: db)
        }
        let (first, second, grdb) = try pool.writeWithoutTransaction { db in
            (try statements.statement(Self.count, db), try statements.statement(Self.count, db), try db.cachedStatement(sql: Self.count.sql))
        }
        #expect(first === second)
        #expect(first !== grdb)
        // A reader connection gets its own statement, from its own cache.
        let read = try pool.read { db in
            let statement = try statements.statement(Self.count, db)
            #expect(statement === (try db.cachedStatement(sql: Self.count.sql)))
            return try Int.fetchOne(statement)
        }
        #expect(read == 0)
        #expect(try pool.writeWithoutTransaction { db in try Int.fetchOne(statements.statement(Self.count, db)) } == 0)
    }

    @Test func aStatementThatFailedIsPreparedAgainAndRunsAtItsNextUse() throws {
        let pool = try Self.makePool("writer-statements-failed")
        let statements = SQLiteWriterStatements()
        try pool.writeWithoutTransaction { db in
            statements.bind(to: db)
            let before = try statements.statement(Self.begin, db)
            try statements.execute(Self.begin, db)
            // A second BEGIN inside the transaction fails ("cannot start a transaction within a
            // transaction"); GRDB would report that error again at the statement's next reset.
            #expect(throws: DatabaseError.self) { try statements.execute(Self.begin, db) }
            try statements.execute(Self.rollback, db)
            #expect(try statements.statement(Self.begin, db) !== before)
            try statements.execute(Self.begin, db)
            try statements.execute(Self.rollback, db)
        }
    }

    @Test func aClosedStoreLeavesNoStatementOnItsConnections() async throws {
        let path = Scratch.directory("writer-statements-close").appendingPathComponent("memory.sqlite").path
        let namespace = try Namespace("statements")
        let store = try SQLiteMemoryStore(path: path)
        for index in 0..<20 { try await store.put("k/\(index)", value: .string("value \(index)"), in: namespace) }
        _ = try await store.apply([.put(key: "k/0", value: .string("again")), .delete(key: "k/1")], in: namespace)
        // GRDB closes its connections with `sqlite3_close`, which fails while any statement is
        // left: the store's close removes its own first.
        try await store.close()
        let reopened = try SQLiteMemoryStore(path: path)
        #expect(try await reopened.get("k/0", in: namespace)?.value == .string("again"))
        #expect(try await reopened.get("k/1", in: namespace) == nil)
        #expect(try await reopened.get("k/19", in: namespace)?.value == .string("value 19"))
        try await reopened.close()
    }
}

import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDBSQLite
import Testing

@testable import AgentMemorySQLite

/// Opening an existing store writes nothing and takes no write lock: GRDB's write at open is
/// spared by ``SQLiteWALPlaceholder`` (and the placeholder a crash may leave behind is read as
/// an empty WAL), and the migration check only reads a file that is current.
@Suite("SQLite: opening a store without writing")
struct WALPlaceholderTests {
    static let namespace = try! Namespace("placeholder")

    /// A closed store with a few records (and so no `-wal`); returns its path.
    static func closedStore() async throws -> String {
        let path = try SearchIndexingTests.temporaryPath()
        let writer = try SQLiteMemoryStore(path: path)
        for index in 0..<5 {
            try await writer.put(try MemoryKey("note/\(index)"), value: .string("a walk by the lake \(index)"), in: namespace)
        }
        // The index current, as a search or a long-lived writer leaves it.
        try await writer.catchUpSearchIndex()
        try await writer.close()
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        return path
    }

    /// Reads through every read path leave the database file byte for byte as it was: no
    /// transaction at open (before, GRDB's table created and dropped there changed the schema
    /// cookie and the page count, and the close checkpointed it into the file).
    @Test(arguments: [SQLiteMemoryStore.ReadPath.callingThread, .readerQueue, .automatic])
    func readingAnExistingStoreLeavesItsFileUntouched(readPath: SQLiteMemoryStore.ReadPath) async throws {
        let path = try await Self.closedStore()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let store = try SQLiteMemoryStore(path: path, readPath: readPath)
        #expect(try await store.get("note/3", in: Self.namespace)?.value == .string("a walk by the lake 3"))
        #expect(try await store.list(in: Self.namespace, prefix: nil, cursor: nil, limit: 10).records.count == 5)
        #expect(try await store.search("lake", in: Self.namespace, limit: 10).count == 5)
        try await store.close()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "read path \(readPath)")
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: path + "-shm"))
    }

    /// The placeholder has the database's permissions, and a store writes over it as over an
    /// empty WAL: what it commits is there after a reopen, and the file checks clean.
    @Test func aWriterTakesThePlaceholderForAnEmptyWAL() async throws {
        let path = try await Self.closedStore()
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        SQLiteWALPlaceholder.create(besideDatabaseAt: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path + "-wal")
        #expect(attributes[.size] as? Int == 1)
        #expect(attributes[.posixPermissions] as? Int == 0o640)

        // As after a crash between creating it and opening the pool: the next store opens on it.
        let store = try SQLiteMemoryStore(path: path)
        try await store.put("note/9", value: .string("written over the placeholder"), in: Self.namespace)
        try await store.close()
        let reopened = try SQLiteMemoryStore(path: path)
        #expect(try await reopened.get("note/9", in: Self.namespace)?.value == .string("written over the placeholder"))
        #expect(try await reopened.list(in: Self.namespace, prefix: nil, cursor: nil, limit: 20).records.count == 6)
        #expect(try await reopened.search("placeholder", in: Self.namespace, limit: 5).map(\.record.key) == ["note/9"])
        try await reopened.close()
    }

    /// Opening a current file takes no write lock: a store opens and reads while another
    /// connection (another process, say a server) holds a write transaction. Before, the
    /// migration check's immediate transaction waited for that lock until the busy timeout.
    @Test func aStoreOpensAndReadsWhileAnotherConnectionWrites() async throws {
        let path = try await Self.closedStore()
        // The other process's connection, through SQLite's C API (GRDB allows no transaction
        // left open between two accesses).
        var other: OpaquePointer?
        #expect(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK)
        defer { sqlite3_close_v2(other) }
        func run(_ sql: String) { #expect(sqlite3_exec(other, sql, nil, nil, nil) == SQLITE_OK, "\(sql)") }
        // A commit first, as a running writer has made: its WAL is not empty.
        run("UPDATE memory_records SET author = 'other' WHERE key = 'note/0'")
        run("BEGIN IMMEDIATE")
        run("UPDATE memory_records SET author = 'uncommitted' WHERE key = 'note/1'")
        let store = try SQLiteMemoryStore(path: path, busyTimeout: .milliseconds(300))
        #expect(try await store.get("note/0", in: Self.namespace)?.author == "other")
        #expect(try await store.get("note/1", in: Self.namespace)?.author == nil)
        #expect(try await store.list(in: Self.namespace, prefix: nil, cursor: nil, limit: 10).records.count == 5)
        run("COMMIT")
        #expect(try await store.get("note/1", in: Self.namespace)?.author == "uncommitted")
        try await store.close()
    }

    /// A `-wal` that exists (another connection's) is never touched, and no placeholder is made
    /// for a database that does not exist yet.
    @Test func onlyAMissingWALOfAnExistingDatabaseIsCreated() async throws {
        let path = try await Self.closedStore()
        let wal = path + "-wal"
        try Data("kept".utf8).write(to: URL(fileURLWithPath: wal))
        SQLiteWALPlaceholder.create(besideDatabaseAt: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: wal)) == Data("kept".utf8))
        try FileManager.default.removeItem(atPath: wal)

        let missing = try SearchIndexingTests.temporaryPath()
        SQLiteWALPlaceholder.create(besideDatabaseAt: missing)
        #expect(!FileManager.default.fileExists(atPath: missing + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}

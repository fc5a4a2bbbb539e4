import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import GRDB
import GRDBSQLite
import Testing

@testable import AgentMemorySQLite

/// Opening an existing store writes nothing and takes no write lock: the writer's connection
/// is a connection of its own, which neither looks at the `-wal` nor, as GRDB's pool did when
/// the `-wal` was missing or empty, writes a table to give it a frame
/// (``SQLiteMemoryStore/openWriter(path:synchronous:busyTimeout:memoryMapSize:)``); a one-byte
/// `-wal` (what older versions put beside the database to spare that write) is read as an empty
/// log; and the migration check only reads a file that is current.
@Suite("SQLite: opening a store without writing")
struct OpenWithoutWritingTests {
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

    /// A store that writes to an existing file without a `-wal` changes its schema in no way
    /// (GRDB's pool created and dropped a table there, which bumped the schema's version, so
    /// every other connection to the file prepared its statements again), and the file stays
    /// in WAL mode. Read from the file's header, with no connection that would make a `-wal`:
    /// the schema cookie at offset 40, and the read and write versions (bytes 18 and 19, 2 for
    /// WAL).
    @Test func writingToAnExistingStoreLeavesItsSchemaAsItWas() async throws {
        let path = try await Self.closedStore()
        let before = try Self.header(path)
        #expect(Array(before[18..<20]) == [2, 2])
        let store = try SQLiteMemoryStore(path: path)
        try await store.put("note/7", value: .string("a swim in the sea"), in: Self.namespace)
        #expect(try await store.search("swim", in: Self.namespace, limit: 5).map(\.record.key) == ["note/7"])
        try await store.close()
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        let after = try Self.header(path)
        #expect(Array(after[40..<44]) == Array(before[40..<44]))
        #expect(Array(after[18..<20]) == [2, 2])
    }

    /// The first 100 bytes of the database file (SQLite's header).
    static func header(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(100))
    }

    /// A `-wal` of one zero byte (older versions' placeholder, or one a crash left behind) is
    /// an empty log to SQLite: a store writes over it, and what it commits is there after a
    /// reopen.
    @Test func aOneByteWALIsTakenForAnEmptyLog() async throws {
        let path = try await Self.closedStore()
        try Data([0]).write(to: URL(fileURLWithPath: path + "-wal"))
        let store = try SQLiteMemoryStore(path: path)
        try await store.put("note/9", value: .string("written over a one-byte log"), in: Self.namespace)
        try await store.close()
        let reopened = try SQLiteMemoryStore(path: path)
        #expect(try await reopened.get("note/9", in: Self.namespace)?.value == .string("written over a one-byte log"))
        #expect(try await reopened.list(in: Self.namespace, prefix: nil, cursor: nil, limit: 20).records.count == 6)
        #expect(try await reopened.search("log", in: Self.namespace, limit: 5).map(\.record.key) == ["note/9"])
        try await reopened.close()
    }

    /// The readers are read-only connections: a write there fails, and changes nothing.
    @Test func theReadersCannotWrite() async throws {
        let path = try await Self.closedStore()
        let store = try SQLiteMemoryStore(path: path)
        try await store.put("note/8", value: .string("kept"), in: Self.namespace)
        let error = #expect(throws: DatabaseError.self) {
            try store.readers.read { db in try db.execute(sql: "DELETE FROM memory_records") }
        }
        #expect(error?.resultCode == .SQLITE_READONLY)
        #expect(try await store.list(in: Self.namespace, prefix: nil, cursor: nil, limit: 20).records.count == 6)
        try await store.close()
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
}

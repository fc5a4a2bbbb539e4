import AgentMemoryCore
import AgentMemoryJSON
import CSQLiteWALWrites
import Foundation
import GRDB
import GRDBSQLite
import TestScratch
import Testing

@testable import AgentMemorySQLite

/// A durable commit's write-ahead-log frames go to the file in one write (`CSQLiteWALWrites`):
/// gathered while the commit writes them, written before its sync, before any read of the log;
/// at `synchronous` NORMAL, where a commit is indexed without a sync, as its commit frame is
/// complete (WALWritesUnsyncedTests.swift).
@Suite("SQLite write-ahead-log writes")
struct WALWritesTests {
    /// The writes of the store's writer connection's log so far.
    static func counts(_ store: SQLiteMemoryStore) async throws -> (written: Int, gathered: Int) {
        try #require(try await store.write { db in SQLiteWALWrites.counts(db) })
    }

    @Test func aFullStoreWritesEachCommitsFramesInOneWrite() async throws {
        let path = Scratch.file("wal-writes")
        let n = try Namespace("n")
        let store = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        try await store.put("first", value: "one", in: n)
        let before = try await Self.counts(store)
        for index in 0..<20 {
            try await store.put("key/\(index)", value: .string(String(repeating: "v", count: 200 + index)), in: n)
        }
        let after = try await Self.counts(store)
        // Each put is a commit of at least two frames (the records and the change log): one
        // write each, where SQLite alone makes two writes a frame.
        #expect(after.written - before.written == 20)
        #expect(after.gathered - before.gathered >= 80)
        try await store.close()

        let reopened = try SQLiteMemoryStore(path: path, idleIndexMerge: nil)
        #expect(try await reopened.get("key/19", in: n)?.value == .string(String(repeating: "v", count: 219)))
        #expect(try await reopened.list(in: n, prefix: "key/", limit: 100).records.count == 20)
        try await reopened.close()
    }

    /// README: the VFS becomes the process's default when a store opens, SQLite's own VFS stays
    /// registered, and only write-ahead logs are its files: the database file is the wrapped
    /// VFS's own.
    @Test func theStoreMakesTheVFSTheDefaultAndWrapsOnlyTheLog() async throws {
        let store = try SQLiteMemoryStore(path: Scratch.file("wal-writes-default"), idleIndexMerge: nil)
        try await store.put("first", value: "one", in: try Namespace("n"))
        let defaultName = try #require(sqlite3_vfs_find(nil)).pointee.zName.map { String(cString: $0) }
        #expect(defaultName == "agent-memory-wal")
        #expect(sqlite3_vfs_find("unix") != nil)
        let (database, log) = try await store.write { db -> (Int32, Int32) in
            var file: UnsafeMutableRawPointer?
            #expect(sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK)
            var written: sqlite3_int64 = 0, gathered: sqlite3_int64 = 0
            let databaseFile = csqlitewal_file_counts(file?.assumingMemoryBound(to: sqlite3_file.self), &written, &gathered)
            return (databaseFile, csqlitewal_counts(db.sqliteConnection, &written, &gathered))
        }
        #expect(database == 0)
        #expect(log == 1)
        try await store.close()
    }

    /// The log as a file, opened through the VFS as SQLite opens a write-ahead log.
    final class LogFile {
        let memory: UnsafeMutableRawPointer
        let file: UnsafeMutablePointer<sqlite3_file>
        let path: String
        /// The name given to the VFS: SQLite's contract keeps it alive until the file is closed
        /// (the wrapped VFS reads it again to sync the folder at the first sync).
        let name: UnsafeMutablePointer<CChar>

        init(folder: String) throws {
            _ = SQLiteWALWrites.registered
            let vfs = try #require(sqlite3_vfs_find("agent-memory-wal"))
            // The wrapped VFS finds the database's file beside its log, as it would for SQLite.
            #expect(FileManager.default.createFile(atPath: folder + "/log.db", contents: nil))
            path = folder + "/log.db-wal"
            memory = UnsafeMutableRawPointer.allocate(byteCount: Int(vfs.pointee.szOsFile), alignment: 16)
            memory.initializeMemory(as: UInt8.self, repeating: 0, count: Int(vfs.pointee.szOsFile))
            file = memory.bindMemory(to: sqlite3_file.self, capacity: 1)
            // SQLite's file names end with two NULs (the URI parameters' list, empty here).
            let bytes = Array((path + "\0").utf8CString)
            name = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
            name.initialize(from: bytes, count: bytes.count)
            var flags: Int32 = 0
            let opened = vfs.pointee.xOpen(vfs, name, file, SQLITE_OPEN_WAL | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &flags)
            #expect(opened == SQLITE_OK)
        }

        var methods: sqlite3_io_methods { file.pointee.pMethods.pointee }

        func write(_ byte: UInt8, count: Int, at offset: Int64) -> Int32 {
            let bytes = [UInt8](repeating: byte, count: count)
            return methods.xWrite(file, bytes, Int32(count), offset)
        }

        func read(count: Int, at offset: Int64) -> (Int32, [UInt8]) {
            var bytes = [UInt8](repeating: 0xFF, count: count)
            let code = methods.xRead(file, &bytes, Int32(count), offset)
            return (code, bytes)
        }

        var counts: (written: Int64, gathered: Int64) {
            var written: sqlite3_int64 = 0, gathered: sqlite3_int64 = 0
            #expect(csqlitewal_file_counts(file, &written, &gathered) == 1)
            return (written, gathered)
        }

        var sizeOnDisk: Int {
            ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? -1
        }

        func close() -> Int32 {
            let code = methods.xClose(file)
            memory.deallocate()
            name.deallocate()
            return code
        }
    }

    @Test func writesThatFollowOrOverlapAreGatheredAndAReadWritesThemFirst() throws {
        let log = try LogFile(folder: Scratch.directory("wal-writes-file").path)
        #expect(csqlitewal_enable_file(log.file) == 1)
        #expect(log.write(0x61, count: 100, at: 0) == SQLITE_OK)   // "a" at 0..<100
        #expect(log.write(0x62, count: 50, at: 100) == SQLITE_OK)  // "b" right after
        #expect(log.write(0x63, count: 10, at: 20) == SQLITE_OK)   // "c" over part of the "a"s
        #expect(log.counts == (0, 3))
        #expect(log.sizeOnDisk == 0)

        // A write elsewhere: the gathered bytes go to the file in one write, the new ones wait.
        #expect(log.write(0x64, count: 5, at: 500) == SQLITE_OK)
        #expect(log.counts == (1, 4))
        #expect(log.sizeOnDisk == 150)

        // A read writes what is gathered first, and sees it.
        let (code, bytes) = log.read(count: 10, at: 495)
        #expect(code == SQLITE_OK)
        #expect(bytes == [0, 0, 0, 0, 0, 0x64, 0x64, 0x64, 0x64, 0x64])
        #expect(log.counts == (2, 4))
        let contents = try #require(FileManager.default.contents(atPath: log.path))
        var expected = [UInt8](repeating: 0x61, count: 100) + [UInt8](repeating: 0x62, count: 50)
        expected.replaceSubrange(20..<30, with: [UInt8](repeating: 0x63, count: 10))
        expected += [UInt8](repeating: 0, count: 350) + [UInt8](repeating: 0x64, count: 5)
        #expect([UInt8](contents) == expected)

        // A sync with nothing gathered writes nothing more; a close writes what is gathered.
        #expect(log.methods.xSync(log.file, SQLITE_SYNC_NORMAL) == SQLITE_OK)
        #expect(log.counts == (2, 4))
        #expect(log.write(0x65, count: 3, at: 505) == SQLITE_OK)
        #expect(log.counts == (2, 5))
        let path = log.path
        #expect(log.close() == SQLITE_OK)
        #expect(FileManager.default.contents(atPath: path)?.suffix(4) == Data([0x64, 0x65, 0x65, 0x65]))
    }

    @Test func aLogWithoutGatheringWritesAtOnce() throws {
        let log = try LogFile(folder: Scratch.directory("wal-writes-off").path)
        #expect(log.write(0x61, count: 24, at: 0) == SQLITE_OK)
        #expect(log.write(0x62, count: 4096, at: 24) == SQLITE_OK)
        #expect(log.counts == (2, 0))
        #expect(log.sizeOnDisk == 4120)
        #expect(log.close() == SQLITE_OK)
    }

    /// A transaction larger than SQLite's page cache writes frames before it commits, rewrites
    /// some of them in place and reads them back; one larger than the VFS gathers (16 MiB) is
    /// written in pieces. Another connection must then read exactly what was committed.
    @Test func aLargeTransactionThatSpillsIsReadBackWhole() throws {
        let path = Scratch.file("wal-writes-spill")
        let (writer, value) = try Self.spill(path: path, synchronous: "FULL", count: 6_000)
        let counts = try #require(try writer.read { db in SQLiteWALWrites.counts(db) }.map { $0 })
        #expect(counts.gathered > 6_000)
        #expect(counts.written > 1)
        let reader = try DatabaseQueue(path: path)
        try Self.expectSpilledRows(reader, count: 6_000, value: value)
        try reader.close()
        try writer.close()
    }

    /// Writes, in one transaction at `synchronous`, more than an 8-page cache holds: `count`
    /// rows of a value of 3,000 bytes and their id, then every seventh again, after its pages
    /// went to the log. Returns the writer, still open, and the value.
    static func spill(path: String, synchronous: String, count: Int) throws -> (DatabaseQueue, String) {
        _ = SQLiteWALWrites.registered
        let writer = try DatabaseQueue(path: path)
        try writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            try db.execute(sql: "PRAGMA cache_size = 8")
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            #expect(SQLiteWALWrites.enable(db))
        }
        let value = String(repeating: "x", count: 3_000)
        try writer.write { db in
            for id in 0..<count { try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [id, value + "\(id)"]) }
            try db.execute(sql: "UPDATE t SET v = v || 'u' WHERE id % 7 = 0")
        }
        return (writer, value)
    }

    /// Checks, through `reader`, the rows a spilling test wrote: `count` rows of `value` and
    /// their id, every seventh updated with a "u" at its end, and an intact file.
    static func expectSpilledRows(_ reader: DatabaseQueue, count: Int, value: String) throws {
        let (check, rows, updated, last) = try reader.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA integrity_check"), try Int.fetchOne(db, sql: "SELECT count(*) FROM t"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM t WHERE v LIKE '%u'"),
                try String.fetchOne(db, sql: "SELECT v FROM t WHERE id = ?", arguments: [count - 2])
            )
        }
        #expect(check == "ok")
        #expect(rows == count)
        #expect(updated == (count + 6) / 7)
        #expect(last == value + "\(count - 2)")
    }
}

extension WALWritesTests {
    /// SQLite's unix VFS writes at most 128 KiB a call: more gathered bytes go in pieces.
    @Test func manyGatheredFramesAreWrittenInPiecesOfAtMost124KiB() throws {
        let log = try LogFile(folder: Scratch.directory("wal-writes-pieces").path)
        #expect(csqlitewal_enable_file(log.file) == 1)
        for frame in 0..<100 {
            #expect(log.write(UInt8(frame), count: 24, at: Int64(frame * 4_120)) == SQLITE_OK)
            #expect(log.write(UInt8(frame), count: 4_096, at: Int64(frame * 4_120 + 24)) == SQLITE_OK)
        }
        #expect(log.counts == (0, 200))
        #expect(log.methods.xSync(log.file, SQLITE_SYNC_NORMAL) == SQLITE_OK)
        // 412,000 bytes: three pieces of 126,976 and one of 31,072.
        #expect(log.counts == (4, 200))
        let contents = try #require(FileManager.default.contents(atPath: log.path))
        #expect([UInt8](contents) == (0..<100).flatMap { [UInt8](repeating: UInt8($0), count: 4_120) })
        #expect(log.close() == SQLITE_OK)
    }
}

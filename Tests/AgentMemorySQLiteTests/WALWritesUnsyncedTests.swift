import AgentMemoryCore
import AgentMemoryJSON
import CSQLiteWALWrites
import Foundation
import GRDB
import GRDBSQLite
import TestScratch
import Testing

@testable import AgentMemorySQLite

/// At `synchronous` NORMAL a commit's frames are indexed, and so visible to every other
/// connection and process, right after SQLite writes them, without a sync: the VFS gathers only
/// SQLite's pattern of appended frames and writes them as the commit frame completes, so that
/// nothing of a commit is still in memory when it returns.
@Suite("SQLite write-ahead-log writes at NORMAL")
struct WALWritesUnsyncedTests {
    typealias LogFile = WALWritesTests.LogFile

    /// A frame's 24-byte header: page number, then the database's size after a commit (0 in
    /// any other frame), then salts and checksums (filled with `byte` here).
    static func frameHeader(commitSize: UInt32, byte: UInt8) -> [UInt8] {
        let size = withUnsafeBytes(of: commitSize.bigEndian) { [UInt8]($0) }
        return [0, 0, 0, 1] + size + [UInt8](repeating: byte, count: 16)
    }

    static func write(_ log: LogFile, _ bytes: [UInt8], at offset: Int64) -> Int32 {
        log.methods.xWrite(log.file, bytes, Int32(bytes.count), offset)
    }

    @Test func appendedFramesAreWrittenAsTheCommitFrameCompletesAndOtherWritesAtOnce() throws {
        let log = try LogFile(folder: Scratch.directory("wal-unsynced-file").path)
        #expect(csqlitewal_enable_file_unsynced(log.file) == 1)
        let page = [UInt8](repeating: 0x70, count: 4_096)
        // The log's header, a frame, then a commit frame: one write, as the commit frame's page ends.
        #expect(Self.write(log, [UInt8](repeating: 0x68, count: 32), at: 0) == SQLITE_OK)
        #expect(Self.write(log, Self.frameHeader(commitSize: 0, byte: 1), at: 32) == SQLITE_OK)
        #expect(Self.write(log, page, at: 56) == SQLITE_OK)
        #expect(Self.write(log, Self.frameHeader(commitSize: 9, byte: 2), at: 4_152) == SQLITE_OK)
        #expect(log.counts == (0, 4))
        #expect(log.sizeOnDisk == 0)
        #expect(Self.write(log, page, at: 4_176) == SQLITE_OK)
        #expect(log.counts == (1, 5))
        #expect(log.sizeOnDisk == 8_272)

        // Headers written again after the commit frame (SQLite's checksum rewrite, the commit
        // frame's last, after which SQLite indexes the commit), and a page written again in
        // place: each goes to the file at once, commit frame or not.
        #expect(Self.write(log, Self.frameHeader(commitSize: 9, byte: 4), at: 4_152) == SQLITE_OK)
        #expect(log.counts == (2, 5))
        let rewritten = try #require(FileManager.default.contents(atPath: log.path))
        #expect([UInt8](rewritten[4_152..<4_176]) == Self.frameHeader(commitSize: 9, byte: 4))
        #expect(Self.write(log, Self.frameHeader(commitSize: 0, byte: 3), at: 32) == SQLITE_OK)
        #expect(Self.write(log, [UInt8](repeating: 0x71, count: 4_096), at: 56) == SQLITE_OK)
        #expect(log.counts == (4, 5))
        #expect(FileManager.default.contents(atPath: log.path).map { [UInt8]($0[32..<56]) } == Self.frameHeader(commitSize: 0, byte: 3))

        // The next transaction's frames, appended: held until something needs them (a read).
        #expect(Self.write(log, Self.frameHeader(commitSize: 0, byte: 5), at: 8_272) == SQLITE_OK)
        #expect(Self.write(log, page, at: 8_296) == SQLITE_OK)
        #expect(log.counts == (4, 7))
        #expect(log.read(count: 4, at: 8_296).0 == SQLITE_OK)
        #expect(log.counts == (5, 7))
        #expect(log.sizeOnDisk == 12_392)

        // A write of a pattern the VFS does not know (a header and its page in one write) goes
        // to the file at once, as does a page that follows no header.
        #expect(Self.write(log, Self.frameHeader(commitSize: 9, byte: 6) + page, at: 12_392) == SQLITE_OK)
        #expect(Self.write(log, page, at: 16_512) == SQLITE_OK)
        #expect(log.counts == (7, 7))
        #expect(log.sizeOnDisk == 20_608)
        #expect(log.close() == SQLITE_OK)
    }

    @Test func aNormalStoreWritesEachCommitOnceAndAnotherConnectionReadsItAtOnce() async throws {
        let path = Scratch.file("wal-unsynced-store")
        let n = try Namespace("n")
        let store = try SQLiteMemoryStore(path: path, synchronous: .normal, idleIndexMerge: nil)
        try await store.put("first", value: "one", in: n)
        let reader = try DatabaseQueue(path: path)
        let before = try await WALWritesTests.counts(store)
        for index in 0..<20 {
            let value = String(repeating: "v", count: 200 + index)
            try await store.put("key/\(index)", value: .string(value), in: n)
            // Another connection: it reads the log's frames from the file, as the index says.
            let stored = try await reader.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM memory_records WHERE key = ?", arguments: ["key/\(index)"])
            }
            #expect(stored == "\"\(value)\"")
        }
        let after = try await WALWritesTests.counts(store)
        #expect(after.written - before.written == 20)
        #expect(after.gathered - before.gathered >= 80)
        try reader.close()
        try await store.close()
    }

    /// A transaction that spills writes frames before it commits, writes some pages again in
    /// place and rewrites frame headers after its commit frame. A copy of the files taken as the
    /// commit returns, with the writer still open (what a `kill -9` would leave), must hold it
    /// all: SQLite's recovery of the copy checks every frame's checksum.
    @Test func aSpillingTransactionIsWholeInTheFilesWhenItsCommitReturns() throws {
        let folder = Scratch.directory("wal-unsynced-spill")
        let path = folder.appendingPathComponent("live.db").path
        let (writer, value) = try WALWritesTests.spill(path: path, synchronous: "NORMAL", count: 2_000)
        let copy = folder.appendingPathComponent("copy.db").path
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
        let counts = try #require(try writer.read { db in SQLiteWALWrites.counts(db) }.map { $0 })
        #expect(counts.gathered > 2_000)
        let recovered = try DatabaseQueue(path: copy)
        try WALWritesTests.expectSpilledRows(recovered, count: 2_000, value: value)
        try recovered.close()
        try writer.close()
    }
}

import Foundation
import GRDB
import Testing

@testable import AgentMemorySQLite
import TestScratch

/// The open's retry when GRDB's look at the `-wal` finds it gone: GRDB checks that the WAL
/// exists, then reads its size, and SQLite deletes the WAL when the last connection to the
/// file closes, so another process closing in between made the open fail ("The file doesn't
/// exist", about 1 process in 170 of four starting on one new file at once, by hand with the
/// release build). Recognised on the error Foundation itself throws there, and on nothing else;
/// the open then runs again.
@Suite("SQLite: a WAL deleted during the open")
struct WALVanishedTests {
    @Test func foundationsErrorForAMissingWALIsRecognisedAndNothingElse() throws {
        let missing = "/nonexistent-\(UUID().uuidString)/memory.sqlite"
        // What GRDB's `setUpWALMode` calls on the `-wal` (its size), on a file that is not there.
        let walError = try #require(throws: (any Error).self) {
            _ = try URL(fileURLWithPath: missing + "-wal").resourceValues(forKeys: [.fileSizeKey])
        }
        #expect(SQLiteMemoryStore.walVanished(walError))
        let databaseError = try #require(throws: (any Error).self) {
            _ = try URL(fileURLWithPath: missing).resourceValues(forKeys: [.fileSizeKey])
        }
        #expect(!SQLiteMemoryStore.walVanished(databaseError))
        #expect(!SQLiteMemoryStore.walVanished(CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: missing + "-wal"])))
        #expect(!SQLiteMemoryStore.walVanished(DatabaseError(resultCode: .SQLITE_CANTOPEN, message: "unable to open")))
    }

    @Test func anOpenThatFindsTheWALGoneOpensAgain() throws {
        let path = Scratch.file("wal-vanished")
        var attempts = 0
        let pool = try SQLiteMemoryStore.openPool(path: path, synchronous: .full, busyTimeout: .seconds(30), memoryMapSize: 0) { path, configuration in
            attempts += 1
            if attempts == 1 {
                // What GRDB threw when the WAL went between its two looks (there is none yet).
                #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
                _ = try URL(fileURLWithPath: path + "-wal").resourceValues(forKeys: [.fileSizeKey])
            }
            return try DatabasePool(path: path, configuration: configuration)
        }
        #expect(attempts == 2)
        #expect(try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM memory_records") } == 0)
        try pool.close()
    }

    @Test func anOpenThatFailsOtherwiseFailsAtOnce() throws {
        let path = Scratch.file("wal-other-failure")
        var attempts = 0
        #expect(throws: CocoaError.self) {
            _ = try SQLiteMemoryStore.openPool(path: path, synchronous: .full, busyTimeout: .seconds(30), memoryMapSize: 0) { _, _ in
                attempts += 1
                throw CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: path + "-wal"])
            }
        }
        #expect(attempts == 1)
    }
}

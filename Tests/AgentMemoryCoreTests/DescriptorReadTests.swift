import AgentMemoryCore
import Foundation
import TestScratch
import Testing

/// `readAll(from:)`: what the command line reads its stdin with (an `exec` message, an import).
@Suite("Reading a descriptor to its end")
struct DescriptorReadTests {
    /// Bytes that show any misplaced or repeated chunk: each position's own pattern.
    private static func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    }

    @Test(arguments: [0, 1, 65_535, 65_536, 450_177])
    func aRegularFileIsReadWhole(size: Int) throws {
        let path = Scratch.directory("reads").appendingPathComponent("file-\(size)").path
        let bytes = Self.pattern(size)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let descriptor = open(path, O_RDONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        #expect(try readAll(from: descriptor).get() == bytes)
    }

    @Test(arguments: [false, true])
    func aPipeIsReadUntilItsWriterCloses(nonBlocking: Bool) throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        if nonBlocking { _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK) }
        let bytes = Self.pattern(300_000)
        let writer = ends[1]
        let failures = Locked(0)
        // Written by a thread of its own (the read below blocks this one), in uneven pieces with
        // pauses, so that reads find the pipe empty and partly full.
        let writing = Thread {
            var offset = 0
            var piece = 1
            while offset < bytes.count {
                let end = min(bytes.count, offset + piece * 7_919)
                if bytes[offset..<end].withUnsafeBytes({ writeAll($0, to: writer) }) != nil { failures.withLock { $0 += 1 } }
                offset = end
                piece += 1
                usleep(1_000)
            }
            close(writer)
        }
        writing.start()
        let read = readAll(from: ends[0])
        close(ends[0])
        #expect(try read.get() == bytes)
        #expect(failures.withLock { $0 } == 0)
    }

    @Test func aDescriptorThatCannotBeReadIsTheReadsError() throws {
        let descriptor = open(Scratch.directory("reads-folder").path, O_RDONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        switch readAll(from: descriptor) {
        case .success(let bytes): Issue.record("a folder read as \(bytes.count) bytes")
        case .failure(let failure):
            #expect(failure.code == EISDIR)
            #expect(failure.description == "Is a directory")
        }
    }
}

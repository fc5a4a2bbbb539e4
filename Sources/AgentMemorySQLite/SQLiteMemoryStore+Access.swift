import AgentMemoryCore
import Dispatch
import Synchronization
import GRDB
import Logging

/// How the store reaches its database: reads on the calling thread or on a queue of the
/// store's own (``SQLiteMemoryStore/ReadPath``), writes through the group commit
/// (``GroupCommitWriter``); each turns a failure into a ``MemoryError`` naming the file.
extension SQLiteMemoryStore {
    /// Reads bounded by their result (see ``ReadPath/automatic``): on the calling thread, where
    /// a WAL reader never waits for writers and no hop is paid.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if readPath == .readerQueue { return try await scan(body) }
        try checkOpen()
        do {
            return try readOnCallingThread(body)
        } catch let error as MemoryError {
            throw error
        } catch {
            throw MemoryError(.storage, "SQLite read failed (\(path)): \(Self.describe(error))")
        }
    }

    /// Runs a `get`'s read on the writer's connection, on the calling thread, when the writer
    /// committed since the last `get` chose where to read and no write is in progress; `nil`
    /// when it did not run (or failed: the caller's other paths report the error).
    ///
    /// Any other connection drops its whole page cache at its first read after another
    /// connection's commit (SQLite resets the pager when the log changed), so a read that
    /// follows this process's writes, as each turn of tool calls does, finds its pages in the
    /// writer's cache; reads with no write between them stay on the point reader, leaving
    /// the writer free. A profile of turns of ten tool calls had a third of the batch read in
    /// that reset and the page reads after it.
    func readAfterWrites<R>(_ body: (Database) throws -> R) -> R? {
        // No pool open, no write made here: the point reader reads.
        guard let writer = connections.ifOpened?.writer else { return nil }
        let commits = writer.commits.load(ordering: .relaxed)
        guard commitsAtLastRead.exchange(commits, ordering: .relaxed) != commits else { return nil }
        return (try? writer.readIfIdle(body)) ?? nil
    }

    /// Reads that may take long (the change log, history, namespaces, searches of a large
    /// index): on ``scanQueue``, so that they never hold one of the few threads of Swift's
    /// cooperative pool (which a server's other requests need).
    func scan<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try checkOpen()
        do {
            if readPath == .callingThread { return try readOnCallingThread(body) }
            // GRDB's synchronous read on a queue of our own: one hop there and one back
            // (GRDB's async read costs several times more per call; bench: "reader queue" rows).
            return try await withCheckedThrowingContinuation { continuation in
                Self.scanQueue.async {
                    continuation.resume(with: Result { try self.readOnCallingThread(body) })
                }
            }
        } catch let error as MemoryError {
            throw error
        } catch {
            throw MemoryError(.storage, "SQLite read failed (\(path)): \(Self.describe(error))")
        }
    }

    /// Where long reads run: threads of Dispatch's own, not of Swift's cooperative pool. A read
    /// waits there for one of GRDB's readers when all are busy.
    private static let scanQueue = DispatchQueue(label: "AgentMemory.sqlite.scan", qos: .userInitiated, attributes: .concurrent)

    /// GRDB's synchronous read (from a synchronous context, so the async overload is not chosen).
    private func readOnCallingThread<T>(_ body: (Database) throws -> T) throws -> T {
        try readers.read(body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await write(sharing: { db, _ in try body(db) })
    }

    /// A write that may share the record writers of the group it commits with (see
    /// ``GroupCommitWriter/write(sharing:)``).
    func write<T: Sendable>(sharing body: @escaping @Sendable (Database, SharedRecordWriters?) throws -> T) async throws -> T {
        try checkOpen()
        do {
            return try await writer.write(sharing: body)
        } catch {
            throw writeFailure(error)
        }
    }

    /// A write's failure as callers see it: a ``MemoryError`` as thrown (a conflict, a limit),
    /// any other error logged and reported as ``MemoryError/Code/storage``.
    func writeFailure(_ error: any Error) -> any Error {
        if error is MemoryError { return error }
        logger.error("SQLite write failed", metadata: ["path": "\(path)", "error": "\(Self.describe(error))"])
        return MemoryError(.storage, "SQLite write failed (\(path)): \(Self.describe(error))")
    }
}

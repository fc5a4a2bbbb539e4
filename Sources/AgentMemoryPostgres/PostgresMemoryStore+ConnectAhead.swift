import AgentMemoryCore
import PostgresNIO
import Synchronization

extension PostgresMemoryStore {
    /// Starts opening the store's own connection (TCP, the start-up and the login; nothing
    /// read or written) in the background, so that the first operation finds it open: a
    /// command that reads its input first (`exec` parsing a message) overlaps the two. The
    /// first operation then applies the migrations on it as usual; when it failed to open,
    /// that operation connects again and reports the error. Does nothing for a store on a
    /// given ``PostgresClient``, one connected already, or a closed one; ``close()`` closes a
    /// connection opened ahead and never used.
    public func connectAhead() {
        guard case .owned(_, let configuration) = connections,
              lifecycle.withLock({ !$0.ready && !$0.closed }), setup.withLock({ $0 == nil })
        else { return }
        let logger = self.logger
        ahead.withLock { ahead in
            guard ahead == nil else { return }
            ahead = Task {
                try? await PostgresConnection.connect(
                    configuration: configuration, id: Self.connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
            }
        }
    }

    /// The connection ``connectAhead()`` opened, once it is open; `nil` when none was asked
    /// for or it failed.
    func takeAhead() async -> PostgresConnection? {
        guard let task = ahead.withLock({ ahead in defer { ahead = nil }; return ahead }) else { return nil }
        guard let connection = await task.value, !connection.isClosed else { return nil }
        return connection
    }

    /// Closes a connection opened ahead and never used (``close()``), without waiting for it
    /// to open: a server that does not answer would hold the close for the connect timeout
    /// (`exec` refusing its message would report it that much later).
    func closeAhead() {
        guard let task = ahead.withLock({ ahead in defer { ahead = nil }; return ahead }) else { return }
        Task {
            if let connection = await task.value { try? await connection.close() }
        }
    }
}

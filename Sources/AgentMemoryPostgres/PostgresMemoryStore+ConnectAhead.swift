import AgentMemoryCore
import PostgresNIO
import Synchronization

/// A connection ``PostgresMemoryStore/connectAhead()`` opened, and whether the schema's applied
/// migrations, read on it, were all this version's and no other (then the first operation
/// applies none and reads them no more).
struct OpenedAhead: Sendable {
    let connection: PostgresConnection
    let schemaIsCurrent: Bool
}

extension PostgresMemoryStore {
    /// Starts opening the store's own connection (TCP, the start-up, the login, and a read of
    /// the schema's applied migrations; nothing written) in the background, so that the first
    /// operation finds it open: a command that reads its input first (`exec` parsing a message)
    /// overlaps the two. The first operation then applies the migrations on it, if the read
    /// found any missing or could not tell (a newer schema is refused then, as usual); when
    /// the connection failed to open, that operation connects again and reports the error.
    /// Does nothing for a store on a given ``PostgresClient``, one connected already, or a
    /// closed one; ``close()`` closes a connection opened ahead and never used.
    public func connectAhead() {
        guard case .owned(_, let configuration) = connections,
              lifecycle.withLock({ !$0.ready && !$0.closed }), setup.withLock({ $0 == nil })
        else { return }
        let logger = self.logger
        let statements = self.statements
        let timeout = statementTimeout
        let schema = self.schema
        ahead.withLock { ahead in
            guard ahead == nil else { return }
            ahead = Task {
                guard let connection = try? await PostgresConnection.connect(
                    configuration: configuration, id: Self.connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
                else { return nil }
                let session = PostgresSession(connection: connection, logger: logger, statements: statements, timeout: timeout)
                return OpenedAhead(
                    connection: connection, schemaIsCurrent: await PostgresMigrations.isCurrent(session, schema: schema))
            }
        }
    }

    /// The connection ``connectAhead()`` opened, once it is open; `nil` when none was asked
    /// for or it failed.
    func takeAhead() async -> OpenedAhead? {
        guard let task = ahead.withLock({ ahead in defer { ahead = nil }; return ahead }) else { return nil }
        guard let opened = await task.value, !opened.connection.isClosed else { return nil }
        return opened
    }

    /// Closes a connection opened ahead and never used (``close()``), without waiting for it
    /// to open: a server that does not answer would hold the close for the connect timeout
    /// (`exec` refusing its message would report it that much later).
    func closeAhead() {
        guard let task = ahead.withLock({ ahead in defer { ahead = nil }; return ahead }) else { return }
        Task {
            if let opened = await task.value { try? await opened.connection.close() }
        }
    }
}

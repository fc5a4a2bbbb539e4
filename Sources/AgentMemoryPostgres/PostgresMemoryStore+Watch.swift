import AgentMemoryCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

extension PostgresMemoryStore {
    /// The notification channel of this store's schema.
    static func channel(schema: String) -> String {
        schema == "public" ? "agent_memory_changes" : "agent_memory_changes.\(schema)"
    }

    /// Every change after `since`, then each new one as its notification arrives; see
    /// ``MemoryStore/watch(in:since:)``. Falls back to polling when `LISTEN` fails. The
    /// stream ends when the consumer stops, or (with an error) when the store is closed.
    public func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        AsyncThrowingStream { continuation in
            let id = UUID()
            let task = Task {
                do {
                    try await self.follow(namespace, since: since, into: continuation)
                    continuation.finish()
                } catch is CancellationError {
                    continuation.finish(throwing: self.closedError())
                } catch {
                    continuation.finish(throwing: error)
                }
                self.lifecycle.withLock { _ = $0.watchers.removeValue(forKey: id) }
            }
            let registered = lifecycle.withLock { state -> Bool in
                guard !state.closed else { return false }
                state.watchers[id] = task
                return true
            }
            if !registered { task.cancel() }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// `nil` while the store is open (a consumer stopped watching); the error a closed
    /// store's watchers end with.
    private func closedError() -> MemoryError? {
        lifecycle.withLock { $0.closed } ? MemoryError(.unavailable, "The PostgreSQL store \(location) is closed") : nil
    }

    private func follow(
        _ namespace: Namespace, since: Int64, into continuation: AsyncThrowingStream<MemoryChange, any Error>.Continuation
    ) async throws {
        let last = WatchPosition(since)
        let catchUp = { @Sendable in try await self.deliver(namespace, after: last, into: continuation) }
        try await connect()
        let channel = Self.channel(schema: schema)
        do {
            try await withListeningConnection { connection in
                try await connection.listen(on: channel) { notifications in
                    // Listening from here on: read what came before, then follow.
                    try await catchUp()
                    for try await notification in notifications {
                        guard let space = notification.payload.firstIndex(of: " "),
                              let sequence = Int64(notification.payload[..<space]),
                              notification.payload[notification.payload.index(after: space)...] == namespace.name,
                              sequence > last.sequence
                        else { continue }
                        try await catchUp()
                    }
                }
            }
        } catch let error as MemoryError {
            throw error
        } catch {
            if Task.isCancelled { throw CancellationError() }
            // LISTEN failed or the listening connection was lost: poll instead.
            logger.debug("agent-memory: LISTEN failed, polling the change log", metadata: ["error": "\(PostgresErrorText.describe(error))"])
        }
        while !Task.isCancelled {
            try await catchUp()
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CancellationError()
    }

    /// Runs `body` on a connection that may hold a `LISTEN` for long: one of the store's own
    /// when it made its pool (closed on cancellation, which ends the listen), else one leased
    /// from the given client for as long as `body` runs (the notification sequence ends on
    /// cancellation).
    private func withListeningConnection(_ body: @escaping @Sendable (PostgresConnection) async throws -> Void) async throws {
        guard case .owned(_, let configuration) = connections else {
            try await client.withConnection(body)
            return
        }
        let connection = try await PostgresConnection.connect(
            configuration: configuration, id: Self.connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
        do {
            try await withTaskCancellationHandler {
                try await body(connection)
            } onCancel: {
                let _: EventLoopFuture<Void> = connection.close()
            }
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Yields the changes after `position`, advancing it.
    private func deliver(
        _ namespace: Namespace, after position: WatchPosition, into continuation: AsyncThrowingStream<MemoryChange, any Error>.Continuation
    ) async throws {
        while true {
            let batch = try await changes(in: namespace, since: position.sequence, limit: 500)
            for change in batch { continuation.yield(change) }
            if let sequence = batch.last?.sequence { position.sequence = sequence }
            if batch.count < 500 { return }
        }
    }
}

/// The last sequence a watcher delivered.
private final class WatchPosition: Sendable {
    private let value: Locked<Int64>
    init(_ sequence: Int64) { value = Locked(sequence) }
    var sequence: Int64 {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

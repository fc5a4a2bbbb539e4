import AgentMemory
import Logging
import MCP

/// The resource URIs a client subscribed to with `resources/subscribe`.
public actor ResourceSubscriptions {
    private var uris: Set<String> = []

    /// An empty set.
    public init() {}

    /// Records a subscription.
    public func add(_ uri: String) { uris.insert(uri) }
    /// Drops a subscription.
    public func remove(_ uri: String) { uris.remove(uri) }
    /// Whether `uri` is subscribed to.
    public func contains(_ uri: String) -> Bool { uris.contains(uri) }
}

/// Turns the namespace's changes (`store.watch`) into MCP notifications on one server:
/// `notifications/resources/list_changed` when a key appears or disappears, and
/// `notifications/resources/updated` for a subscribed key that changed (swift-sdk 0.12.1
/// `ResourceListChangedNotification`, `ResourceUpdatedNotification`). One task, sending one
/// notification at a time; cancelled when the session stops.
public struct MemoryMCPChangeNotifier: Sendable {
    private let task: Task<Void, Never>
    private let server: ServerBox

    /// Finds where the change log ends now (so only later changes are announced), then
    /// watches from there; the server is attached with ``attach(_:)`` once started.
    static func starting(
        store: any MemoryStore, namespace: Namespace, subscriptions: ResourceSubscriptions, logger: Logger
    ) async throws -> MemoryMCPChangeNotifier {
        var since: Int64 = 0
        while true {
            let changes = try await store.changes(in: namespace, since: since, limit: 1_000)
            guard let last = changes.last else { break }
            since = last.sequence
        }
        let box = ServerBox()
        let task = Task {
            do {
                for try await change in store.watch(in: namespace, since: since) {
                    guard !ReservedKeys.isReserved(change.key), let server = await box.server else { continue }
                    let uri = MemoryResourceURI(namespace: namespace, key: change.key).description
                    if change.operation == .delete || change.version == 1 {
                        try await server.notify(ResourceListChangedNotification.message())
                    }
                    if await subscriptions.contains(uri) {
                        try await server.notify(ResourceUpdatedNotification.message(.init(uri: uri)))
                    }
                }
            } catch is CancellationError {
            } catch {
                logger.warning("change notifications stopped", metadata: ["error": "\(error)"])
            }
        }
        return MemoryMCPChangeNotifier(task: task, server: box)
    }

    /// Starts sending to `server`.
    func attach(_ server: Server) async { await self.server.set(server) }

    /// Stops watching.
    public func cancel() { task.cancel() }

    /// The server notifications go to, once it has started.
    private actor ServerBox {
        var server: Server?
        func set(_ server: Server) { self.server = server }
    }
}

/// A running MCP server and its change notifications.
public struct MemoryMCPSession: Sendable {
    /// The SDK server.
    public let server: Server
    private let notifier: MemoryMCPChangeNotifier

    init(server: Server, notifier: MemoryMCPChangeNotifier) {
        self.server = server
        self.notifier = notifier
    }

    /// Stops notifications and the server (which disconnects its transport).
    public func stop() async {
        notifier.cancel()
        await server.stop()
    }

    /// Returns when the server's message loop ends (the client disconnected or ``stop()``).
    public func waitUntilCompleted() async {
        await server.waitUntilCompleted()
    }
}

import AgentMemory
import AgentMemoryMCP
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// The HTTP front end: the BotWire-compatible memory API plus compare-and-set, append, search,
/// the change feed, health, metrics and the MCP server at `/mcp`, over one ``MemoryStore``.
///
/// A thin adapter: each route is one store call. The server owns the store it is given and
/// closes it after the last in-flight request has been answered, when it stops.
public struct AgentMemoryServer: Sendable {
    /// Where and how the server listens.
    public let configuration: ServerConfiguration
    private let store: any MemoryStore
    private let logger: Logger

    /// Creates a server over `store`; throws ``ServerError`` for a configuration it must not
    /// run with (open on a non-loopback address).
    public init(store: any MemoryStore, configuration: ServerConfiguration, logger: Logger = Logger(label: "agent-memory.server")) throws {
        try configuration.validate()
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until cancelled or, when `handlingSignals`, until SIGTERM or SIGINT: then it stops
    /// accepting connections, finishes the requests in flight (change streams end), and closes
    /// the store. `onListening` is told the bound host and port (useful with port 0).
    public func run(handlingSignals: Bool = true, onListening: @escaping @Sendable (String, Int) async -> Void = { _, _ in }) async throws {
        let endpoint = MemoryMCPHTTPEndpoint(
            maximumSessions: configuration.mcpMaxSessions, idleTimeout: configuration.mcpIdleTimeout,
            originValidator: MCPRoute.originValidator(tokens: configuration.tokens), logger: logger)
        let mcp = MCPRoute(
            endpoint: endpoint, store: store, tools: configuration.mcpTools, maxBodyBytes: configuration.maxBodyBytes,
            pingInterval: configuration.eventStreamPingInterval, logger: logger)
        let responder = ServerResponder(
            memory: MemoryRoutes(store: store, maxBodyBytes: configuration.maxBodyBytes, defaultListLimit: configuration.defaultListLimit),
            feeds: FeedRoutes(store: store, pingInterval: configuration.eventStreamPingInterval),
            mcp: mcp, mcpNamespace: configuration.mcpNamespace,
            authorization: Authorization(tokens: configuration.tokens, openAgent: configuration.openAgent),
            rateLimiter: configuration.rateLimit.map(RateLimiter.init(rate:)),
            metrics: ServerMetrics(),
            logger: logger)
        let host = configuration.host
        let application = Application(
            responder: responder,
            configuration: ApplicationConfiguration(address: .hostname(host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in await onListening(host, channel.localAddress?.port ?? 0) },
            logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [StoreClosingService(store: store, endpoint: endpoint, logger: logger), application],
                gracefulShutdownSignals: handlingSignals ? [.sigterm, .sigint] : [],
                logger: logger))
        try await group.run()
    }
}

/// Ends the MCP sessions, then closes the store, when the service group shuts down. Listed
/// before the application, so the group stops it after the application has drained its requests.
struct StoreClosingService: Service {
    let store: any MemoryStore
    let endpoint: MemoryMCPHTTPEndpoint
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        await endpoint.close()
        do {
            try await store.close()
            logger.info("store closed")
        } catch {
            logger.error("closing the store failed", metadata: ["error": "\(error)"])
            throw error
        }
    }
}

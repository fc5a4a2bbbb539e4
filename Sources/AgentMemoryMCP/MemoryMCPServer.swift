import AgentMemory
import AgentMemoryRuntime
import Logging
import MCP

/// The memory as an MCP server: the memory tools, each memory as a resource, and a prompt,
/// bound to one store, namespace, agent id, tool list and access.
///
/// A thin adapter over swift-sdk 0.12.1's `Server` (every protocol shape comes from the SDK):
/// tool calls run through ``MemoryToolExecutor``, resources read the store; it holds no store
/// logic of its own. ``makeServer()`` gives a configured `Server` for any transport (one per
/// connection); ``start(transport:)`` also sends change notifications from `store.watch`.
///
/// Claude's built-in `memory` tool is not served: the Messages API defines it by a `type`
/// (`memory_20250818`), not by an input schema, and an MCP tool needs an input schema, so an
/// MCP client could not call it as Claude does. Asking for it throws ``MemoryMCPError``.
public struct MemoryMCPServer: Sendable {
    /// The name the server gives in `initialize`.
    public static let name = "agent-memory"
    /// The version the server gives in `initialize` (``AgentMemoryRelease/version``).
    public static let version = AgentMemoryRelease.version
    /// The default number of resources per `resources/list` page.
    public static let defaultResourcePageSize = 100

    /// The executor every tool call runs through.
    public let executor: MemoryToolExecutor
    /// How many resources one `resources/list` page holds.
    public let resourcePageSize: Int
    private let logger: Logger

    /// Binds a server to a store, namespace, agent id, tool list and access (the values the CLI
    /// resolves through `RuntimeSettings`). Throws ``MemoryMCPError`` for the `memory` tool, an
    /// empty tool list or a page size below 1.
    public init(
        store: any MemoryStore,
        namespace: Namespace,
        agent: String? = nil,
        tools: [MemoryToolKind] = MemoryToolKind.defaultSet,
        access: MemoryAccess = .readWrite,
        resourcePageSize: Int = MemoryMCPServer.defaultResourcePageSize,
        logger: Logger = Logger(label: "AgentMemory.mcp", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws {
        if tools.contains(.memory) { throw MemoryMCPError.builtinMemoryTool }
        if tools.isEmpty { throw MemoryMCPError("The tool list is empty; name at least one of remember, recall, list_memory, forget, search_memory.") }
        guard resourcePageSize >= 1 else { throw MemoryMCPError("The resource page size must be at least 1, not \(resourcePageSize).") }
        self.executor = MemoryToolExecutor(store: store, namespace: namespace, agent: agent, tools: tools, access: access, logger: logger)
        self.resourcePageSize = resourcePageSize
        self.logger = logger
    }

    /// The tools `tools/list` answers with.
    public var tools: [Tool] { MemoryMCPTools.tools(for: executor) }

    /// What the server offers: tools, resources (subscriptions and list changes) and prompts.
    public static let capabilities = Server.Capabilities(
        prompts: .init(listChanged: false), resources: .init(subscribe: true, listChanged: true), tools: .init(listChanged: false))

    /// A `Server` with every handler registered, not yet started; `subscriptions` records
    /// `resources/subscribe` (pass the one ``MemoryMCPChangeNotifier`` reads, if any).
    public func makeServer(subscriptions: ResourceSubscriptions = ResourceSubscriptions()) async -> Server {
        let server = Server(
            name: Self.name, version: Self.version, title: "AgentMemory",
            instructions: "Persistent memory shared across conversations, namespace \"\(executor.namespace)\". "
                + "Recall before answering; remember what is worth keeping.",
            capabilities: Self.capabilities)
        let executor = executor
        let tools = tools
        let resources = MemoryMCPResources(store: executor.store, namespace: executor.namespace, pageSize: resourcePageSize)
        await server.withMethodHandler(ListTools.self) { _ in ListTools.Result(tools: tools) }
        await server.withMethodHandler(CallTool.self) { parameters in await MemoryMCPTools.call(parameters, executor: executor) }
        await server.withMethodHandler(ListResourceTemplates.self) { _ in ListResourceTemplates.Result(templates: [resources.template]) }
        await server.withMethodHandler(ListResources.self) { parameters in try await resources.list(cursor: parameters.cursor) }
        await server.withMethodHandler(ReadResource.self) { parameters in try await resources.read(parameters.uri) }
        await server.withMethodHandler(ResourceSubscribe.self) { parameters in
            await subscriptions.add(parameters.uri)
            return Empty()
        }
        await server.withMethodHandler(ResourceUnsubscribe.self) { parameters in
            await subscriptions.remove(parameters.uri)
            return Empty()
        }
        await server.withMethodHandler(ListPrompts.self) { _ in ListPrompts.Result(prompts: [MemoryMCPPrompt.prompt]) }
        await server.withMethodHandler(GetPrompt.self) { parameters in
            try MemoryMCPPrompt.get(parameters, tools: tools, namespace: executor.namespace, readOnly: executor.access == .readOnly)
        }
        return server
    }

    /// Starts a server on `transport` with change notifications; stop it with
    /// ``MemoryMCPSession/stop()``, which also ends the notifications.
    public func start(transport: any Transport) async throws -> MemoryMCPSession {
        let subscriptions = ResourceSubscriptions()
        let server = await makeServer(subscriptions: subscriptions)
        let notifier = try await MemoryMCPChangeNotifier.starting(
            store: executor.store, namespace: executor.namespace, subscriptions: subscriptions, logger: logger)
        do {
            try await server.start(transport: transport)
        } catch {
            notifier.cancel()
            throw error
        }
        await notifier.attach(server)
        return MemoryMCPSession(server: server, notifier: notifier)
    }
}

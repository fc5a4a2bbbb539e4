import AgentMemory
import AgentMemoryRuntime
import AgentMemoryServer
import ArgumentParser
import Foundation
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve memory over HTTP: the BotWire memory API plus compare-and-set, search, the change feed and MCP.",
        discussion: """
            Routes: PUT/GET/DELETE /memory/NS/KEY, GET /memory/NS, POST /memory/NS/KEY/append, GET /search/NS?q=, \
            GET /changes/NS?since= (server-sent events with Accept: text/event-stream), GET /healthz, GET /metrics, \
            and MCP over Streamable HTTP at /mcp (namespace: ?namespace=NS, else --namespace).
            Without --tokens the server is open and binds a loopback address only. With --tokens FILE every memory and MCP \
            route needs Authorization: Bearer TOKEN; the file is {"tokens": [{"token": "...", "namespaces": ["team", "agent-*"], \
            "access": "read-write" | "read-only", "agent": "planner"}]}. Over MCP a read-only token is offered only the tools \
            that read; the token's agent is the author of writes.
            SIGTERM or SIGINT: finish the requests in flight, close the store, exit 0.
            """)

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Option(help: "The address to listen on (a loopback address unless --tokens is given).") var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port, printed at start).") var port = 8080
    @Option(help: ArgumentHelp("The bearer tokens file (JSON).", valueName: "file")) var tokens: String?
    @Option(help: "The largest request body in bytes (413 above it).") var maxBodyBytes = 2 * 1_048_576
    @Option(help: "Requests per second per token (or client address when open); 0 turns the limit off.") var rateLimit: Double = 1000
    @Option(help: "Requests a token may make at once after a quiet period (default: twice --rate-limit).") var rateBurst: Double?
    @Option(help: ArgumentHelp(
        "The tools /mcp offers: comma-separated names, default or all (default: remember, recall, list_memory).", valueName: "list"))
    var mcpTools: String?
    @Option(help: "The most MCP sessions open at once (503 beyond).") var mcpMaxSessions = 100
    @Option(help: "Seconds an MCP session may stay idle (no request, no open stream) before it ends.") var mcpIdleTimeout = 600
    @Option(help: "Seconds between keep-alive comments on open event streams (/changes watchers, MCP); 0: none.") var pingInterval = 15

    func run() async throws {
        try await runReportingErrors {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .info
                return handler
            }
            var configuration = ServerConfiguration(host: host, port: port, openAgent: (try global.resolvedAgent()), maxBodyBytes: maxBodyBytes)
            configuration.rateLimit = rateLimit > 0 ? RateLimit(perSecond: rateLimit, burst: rateBurst ?? rateLimit * 2) : nil
            configuration.mcpNamespace = try global.resolvedNamespace()
            configuration.mcpTools = try parseMCPTools(mcpTools, option: "--mcp-tools")
            configuration.mcpMaxSessions = mcpMaxSessions
            configuration.mcpIdleTimeout = .seconds(mcpIdleTimeout)
            configuration.eventStreamPingInterval = pingInterval > 0 ? .seconds(pingInterval) : nil
            do {
                if let tokens { configuration.tokens = try TokenFile(contentsOf: tokens) }
                try configuration.validate()
            } catch let error as ServerError {
                throw CLIError(error.message, exitCode: 2)
            }
            let store = try global.settings.openStore()
            let server: AgentMemoryServer
            do {
                server = try AgentMemoryServer(store: store, configuration: configuration)
            } catch {
                try? await store.close()
                throw error
            }
            let access = configuration.tokens.map { "\($0.tokens.count) token(s)" } ?? "open (no tokens file)"
            let location = try global.location()
            try await server.run { host, port in
                printProgress("agent-memory serving http://\(host.contains(":") ? "[\(host)]" : host):\(port) (\(access), store \(location))")
            }
        }
    }
}

import AgentMemory
import AgentMemoryMCP
import AgentMemoryRuntime
import ArgumentParser
import Foundation
import Logging
import MCP

/// `agent-memory mcp`: the memory tools, resources and prompt as an MCP server over stdio.
struct MCPServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the memory over MCP on stdin/stdout (for Claude Code, Claude Desktop and any MCP client).",
        discussion: """
            stdout carries only the protocol; logs go to stderr. The store is closed when the client \
            disconnects (end of stdin) or on SIGTERM/SIGINT. Claude's built-in memory tool is not served \
            over MCP (it has a type, not an input schema); --tools all serves the other five.
            """)

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Option(help: ArgumentHelp(
        "Comma-separated tool names, default or all (default: remember, recall, list_memory).", valueName: "list"))
    var tools: String?
    @Flag(help: "Offer only the tools that read; writes answer with an isError result.") var readOnly = false
    @Option(help: ArgumentHelp("Log level on stderr: trace, debug, info, notice, warning, error.", valueName: "level"))
    var logLevel: String = "notice"

    func run() async throws {
        try await runReportingErrors {
            let level = try parseLogLevel(logLevel)
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let logger = Logger(label: "agent-memory.mcp")
            let settings = global.settings
            let namespace = try settings.resolvedNamespace()
            let selected = try parseMCPTools(tools, option: "--tools")
            let agent = try settings.agentID()
            let store = try settings.openStore()
            try await RuntimeSettings.closing(store) { store in
                let server: MemoryMCPServer
                do {
                    server = try MemoryMCPServer(
                        store: store, namespace: namespace, agent: agent, tools: selected,
                        access: readOnly ? .readOnly : .readWrite, logger: logger)
                } catch let error as MemoryMCPError {
                    throw CLIError(error.message, exitCode: 2)
                }
                let session = try await server.start(transport: MCPStdioTransport(logger: logger))
                logger.info("serving namespace \(namespace) over stdio", metadata: ["tools": "\(selected.map(\.rawValue))"])
                // On a queue of its own: Dispatch's global queue, which runs a few items at a time
                // on Linux, could hold a signal up behind whatever keeps it busy.
                let signalQueue = DispatchQueue(label: "agent-memory.mcp.signals")
                let signals = [SIGINT, SIGTERM].map { number in
                    signal(number, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
                    source.setEventHandler {
                        logger.notice("signal \(number): stopping")
                        Task { await session.stop() }
                    }
                    source.resume()
                    return source
                }
                await session.waitUntilCompleted()
                signals.forEach { $0.cancel() }
                await session.stop()
                logger.info("client gone: closing the store")
            }
        }
    }

    private func parseLogLevel(_ text: String) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: text) else {
            throw CLIError("Unknown log level \"\(text)\"; use trace, debug, info, notice, warning or error (from --log-level)", exitCode: 2)
        }
        return level
    }
}

/// A tool list for MCP (`--tools` of `mcp`, `--mcp-tools` of `serve`): `all` means every tool
/// but the built-in `memory` tool; naming `memory` is an error that says why.
func parseMCPTools(_ text: String?, option: String) throws -> [MemoryToolKind] {
    let names = (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    if names.contains(MemoryToolKind.memory.rawValue) { throw CLIError(MemoryMCPError.builtinMemoryTool.message, exitCode: 2) }
    guard let text else { return MemoryToolKind.defaultSet }
    do {
        return try MemoryToolKind.parseList(text).filter { $0 != .memory }
    } catch let error as MemoryError {
        throw CLIError(error.message + " (from \(option))", exitCode: 2)
    }
}

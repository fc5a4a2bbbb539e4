import AgentMemoryJSON
import AgentMemory
import AgentMemoryRuntime
import ArgumentParser
import Foundation

/// Parses `--tools`: a comma-separated list, `default` or `all`.
func parseTools(_ text: String?) throws -> [MemoryToolKind] {
    guard let text else { return MemoryToolKind.defaultSet }
    do {
        return try MemoryToolKind.parseList(text)
    } catch let error as MemoryError {
        throw CLIError(error.message + " (from --tools)", exitCode: 2)
    }
}

struct Schemas: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schemas",
        abstract: "Print the tool definitions as a JSON array (the request's \"tools\").",
        discussion: """
            With --write DIR, writes DIR/NAME.json for every tool and DIR/tools.json with the selected set \
            (the default set unless --tools is given).
            """)

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Option(help: ArgumentHelp("Comma-separated tool names, default or all.", valueName: "list")) var tools: String?
    @Option(help: ArgumentHelp("Write the schema files into this directory.", valueName: "dir")) var write: String?

    func run() async throws {
        try await runReportingErrors {
            let selected = try parseTools(tools)
            let array = JSONValue.array(MemoryToolDefinitions.definitions(for: selected).map(\.jsonValue))
            guard let write else {
                try printLine(array.jsonString(pretty: true))
                return
            }
            try FileManager.default.createDirectory(atPath: write, withIntermediateDirectories: true)
            for tool in MemoryToolKind.everyTool {
                let text = MemoryToolDefinitions.definition(for: tool).jsonValue.jsonString(pretty: true) + "\n"
                try Data(text.utf8).write(to: URL(fileURLWithPath: write).appendingPathComponent("\(tool.rawValue).json"))
            }
            try Data((array.jsonString(pretty: true) + "\n").utf8).write(to: URL(fileURLWithPath: write).appendingPathComponent("tools.json"))
            try printLine("Wrote \(MemoryToolKind.everyTool.count + 1) files to \(write).")
        }
    }
}

struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Execute the tool_use blocks read from stdin; print the user message with the tool_results.",
        discussion: """
            stdin holds a Messages API response ({"content": [...], ...}), an assistant message \
            ({"role": "assistant", "content": [...]}) or an array of content blocks. The output is \
            {"role": "user", "content": [tool_result, ...]}, one result per tool_use, in order.
            """)

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Option(help: ArgumentHelp("Comma-separated tool names, default or all.", valueName: "list")) var tools: String?
    @Flag(help: "Refuse writing tools (they answer with an is_error result).") var readOnly = false
    @Flag(help: "Indent the output.") var pretty = false

    func run() async throws {
        try await Self.execute(settings: global.settings, tools: tools, readOnly: readOnly, pretty: pretty)
    }

    /// What `run()` does, for the options given (also called by ``PlainCommandLine``'s quick
    /// path in `AgentMemoryCommand.main()`).
    static func execute(settings: RuntimeSettings, tools: String?, readOnly: Bool, pretty: Bool) async throws {
        try await runReportingErrors {
            let selected = try parseTools(tools)
            let namespace = try settings.resolvedNamespace()
            _ = try settings.agentID()
            // A PostgreSQL store connects while the message is read and parsed.
            let ahead = try settings.openStoreConnectingAhead()
            let input = FileHandle.standardInput.readDataToEndOfFile()
            let blocks: [ContentBlock]
            do {
                blocks = try MemoryToolExecutor.contentBlocks(in: JSONValue(parsing: input))
            } catch {
                try? await ahead?.close()
                switch error {
                case let error as JSONParseError: throw CLIError("stdin is not valid JSON: \(error)", exitCode: 2)
                case let error as MessageDecodingError: throw CLIError("stdin: \(error.message)", exitCode: 2)
                default: throw error
                }
            }
            try await settings.withAgentAndStore(opened: ahead) { agent, store in
                let executor = MemoryToolExecutor(
                    store: store, namespace: namespace, agent: agent, tools: selected,
                    access: readOnly ? .readOnly : .readWrite)
                // Written as bytes, into room for about the input's size (the results of a large
                // turn are about as long as its calls), straight to stdout: no String round trip,
                // no regrowth, no copy into `Data`. Compact output is written from the outcomes
                // without building the message (ToolResultsJSON: the same bytes).
                let capacity = input.count + input.count / 2 + 64
                if pretty {
                    let message = await executor.execute(blocks: blocks)
                    var output = message.jsonValue.jsonBytes(pretty: true, capacity: capacity)
                    output.append(0x0A)
                    try writeToStandardOutput(output)
                    KeptUntilExit.keep(message)
                } else {
                    let toolUses = blocks.compactMap(\.toolUse)
                    let outcomes = await executor.outcomes(of: toolUses)
                    // The store is done with: its close (the index's look, the log's checkpoint
                    // and syncs) runs beside the results' writing, and is waited for after.
                    async let closing: Void = store.close()
                    try writeToStandardOutput(ToolResultsJSON.message(for: toolUses, outcomes: outcomes, capacity: capacity, newline: true))
                    KeptUntilExit.keep(outcomes)
                    try await closing
                }
            }
            KeptUntilExit.keep(blocks)
        }
    }
}

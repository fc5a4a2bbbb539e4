import ClaudeMessages
import ClaudeClient
import AgentMemoryJSON
import AgentLoop
import AgentMemory
import ArgumentParser
import Foundation

struct Sessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List the saved agent sessions of the namespace: id, message count, last update (newest first).")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }

    func run() async throws {
        try await runReportingErrors {
            let namespace = try global.resolvedNamespace()
            try await global.withStore { store in
                let sessions = MemoryStoreSessionStore(store: store, namespace: namespace)
                let summaries = try await sessions.list().sorted { ($0.updatedAt, $0.id) > ($1.updatedAt, $1.id) }
                if summaries.isEmpty {
                    _ = writeLine("no sessions in namespace \"\(namespace)\"", to: STDERR_FILENO)
                }
                for summary in summaries {
                    try printLine("\(summary.id)\t\(summary.messageCount)\t\(MemoryRecord.formatDate(summary.updatedAt))")
                }
            }
        }
    }
}

struct Transcript: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcript",
        abstract: "Print a saved session's messages as a JSON array, exactly as they were sent and received.",
        discussion: """
            With --marks, one line per message instead, marking what long-session context management did to \
            the latest request: messages a compaction block stands for (compacted), messages left out by \
            --max-context (left out), and tool results replaced by a placeholder (cleared) or cleared by the \
            API (cleared by the API). The saved transcript itself always keeps every message.
            """)

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Argument(help: "The session id.") var id: String
    @Flag(help: "Indent the output.") var pretty = false
    @Flag(help: "One line per message, marking compacted, left-out and cleared ranges, instead of the JSON array.") var marks = false

    func run() async throws {
        try await runReportingErrors {
            do {
                try SessionError.validate(id: id)
            } catch let error as SessionError {
                throw CLIError(error.message, exitCode: 2)
            }
            let namespace = try global.resolvedNamespace()
            try await global.withStore { store in
                let sessions = MemoryStoreSessionStore(store: store, namespace: namespace)
                let loaded: SessionTranscript?
                do {
                    loaded = try await sessions.load(id)
                } catch let error as SessionError {
                    throw CLIError(error.message, exitCode: 1)
                }
                guard let transcript = loaded else {
                    throw CLIError("No session \"\(id)\" in namespace \"\(namespace)\" (`agent-memory sessions` lists them)", exitCode: 1)
                }
                if marks {
                    for line in Self.markedLines(transcript) { try printLine(line) }
                } else {
                    try printLine(JSONValue.array(transcript.messages.map(\.jsonValue)).jsonString(pretty: pretty))
                }
            }
        }
    }
}

extension Transcript {
    /// One line per message: index, role, its blocks in short, and what the latest request did with it.
    static func markedLines(_ transcript: SessionTranscript) -> [String] {
        let marks = transcript.contextMarks
        let compactedBefore = ConversationView.latestCompaction(in: transcript.messages)?.message ?? 0
        var lines: [String] = []
        for (index, message) in transcript.messages.enumerated() {
            let blocks = message.blocks.map { block -> String in
                switch block.type {
                case .text: return "text \"" + MemoryText.singleLine(block.text ?? "", limit: 60) + "\""
                case .toolUse: return "tool_use " + (block.toolUse?.name ?? "?")
                case .toolResult: return "tool_result" + (block.toolResult?.isError == true ? " (error)" : "")
                default: return block.type.rawValue
                }
            }
            var mark: [String] = []
            let hasResults = message.blocks.contains { $0.type == .toolResult }
            if index < compactedBefore {
                mark.append("compacted")
            } else if marks.dropped?.contains(index) == true {
                mark.append("left out")
            } else if hasResults, index < marks.clearedBefore {
                mark.append("cleared")
            } else if hasResults, index < marks.serverClearedBefore {
                mark.append("cleared by the API")
            }
            if message.blocks.contains(where: { $0.type == "compaction" }) { mark.append("compaction block") }
            lines.append("#\(index) \(message.role.rawValue): \(blocks.joined(separator: ", "))" + (mark.isEmpty ? "" : "  [\(mark.joined(separator: ", "))]"))
        }
        return lines
    }
}

import AgentLoop
import AgentMemory
import ArgumentParser
import Foundation

struct Sessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
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
                    FileHandle.standardError.write(Data("no sessions in namespace \"\(namespace)\"\n".utf8))
                }
                for summary in summaries {
                    printLine("\(summary.id)\t\(summary.messageCount)\t\(MemoryRecord.formatDate(summary.updatedAt))")
                }
            }
        }
    }
}

struct Transcript: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a saved session's messages as a JSON array, exactly as they were sent and received.")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Argument(help: "The session id.") var id: String
    @Flag(help: "Indent the output.") var pretty = false

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
                printLine(JSONValue.array(transcript.messages.map(\.jsonValue)).jsonString(pretty: pretty))
            }
        }
    }
}

import AgentMemoryJSON
import AgentMemory
import ArgumentParser
import Foundation

struct Append: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append a value to the list under a key, atomically (a missing key becomes a one-item list).",
        discussion: "Concurrent appends from several agents or processes never lose or duplicate an item.")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Argument(help: "The key.") var key: String
    @Argument(help: "The item (a string, or JSON with --json).") var value: String
    @Flag(help: "Parse VALUE as JSON instead of appending it as a string.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let namespace = try global.resolvedNamespace()
            let parsed = try commandLineValue(value, json: json, verb: "append")
            try await global.withStore { store in
                let record = try await store.append(key, value: parsed, in: namespace, options: AppendOptions(author: (try global.resolvedAgent())))
                let count = record.value.arrayValue.map { "; \($0.count) item\($0.count == 1 ? "" : "s")" } ?? ""
                try printLine("Appended to \"\(key)\" (version \(record.version)\(count)).")
            }
        }
    }
}

struct Changes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "changes",
        abstract: "Print the namespace's change log: sequence, time, author, operation, key, version.",
        discussion: "With --follow, keeps printing new changes as they are committed, until interrupted.")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Option(help: "Only changes after this sequence number (0: all that are retained).") var since: Int64 = 0
    @Flag(help: "Keep printing new changes as they happen.") var follow = false
    @Flag(help: "Print each change as a JSON object on its own line.") var json = false

    func run() async throws {
        try await runReportingErrors {
            guard since >= 0 else { throw CLIError("--since must be 0 or more, got \(since)", exitCode: 2) }
            let namespace = try global.resolvedNamespace()
            try await global.withStore { store in
                if follow {
                    for try await change in store.watch(in: namespace, since: since) {
                        try printLine(format(change))
                    }
                    return
                }
                var last = since
                while true {
                    let batch = try await store.changes(in: namespace, since: last, limit: 1000)
                    for change in batch { try printLine(format(change)) }
                    guard let next = batch.last?.sequence, batch.count == 1000 else { break }
                    last = next
                }
            }
        }
    }

    func format(_ change: MemoryChange) -> String {
        if json { return change.jsonObject.jsonString() }
        return [
            String(change.sequence), MemoryRecord.formatDate(change.time), change.author ?? "-",
            change.operation.rawValue, change.key, "v\(change.version)",
        ].joined(separator: "\t")
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Print the versions of a key with their authors and times (as long as the change log retains them).")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Argument(help: "The key.") var key: String
    @Option(help: "At most this many of the newest entries.") var limit = 100

    func run() async throws {
        try await runReportingErrors {
            guard limit >= 1 else { throw CLIError("--limit must be at least 1, got \(limit)", exitCode: 2) }
            let namespace = try global.resolvedNamespace()
            try await global.withStore { store in
                let history = try await store.history(of: key, in: namespace, limit: limit)
                guard !history.isEmpty else {
                    throw CLIError("No history for \"\(key)\" in namespace \"\(namespace)\"", exitCode: 1)
                }
                for change in history {
                    try printLine("v\(change.version)\t\(change.operation.rawValue)\t\(change.author ?? "-")\t\(MemoryRecord.formatDate(change.time))")
                }
            }
        }
    }
}

import AgentMemoryJSON
import AgentMemory
import AgentMemoryRuntime
import ArgumentParser
import Foundation

struct Remember: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remember", abstract: "Store a value under a key.")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Argument(help: "The key.") var key: String
    @Argument(help: "The value (a string, or JSON with --json).") var value: String
    @Option(help: ArgumentHelp("Time to live in seconds.", valueName: "seconds")) var ttl: Int?
    @Flag(help: "Parse VALUE as JSON instead of storing it as a string.") var json = false
    @Option(help: ArgumentHelp(
        "Compare-and-set: write only if the key is at this version (0: only if it does not exist); exit status 3 otherwise.",
        valueName: "n")) var ifVersion: Int?

    func run() async throws {
        try await Self.execute(settings: global.settings, key: key, value: value, json: json, ttl: ttl, ifVersion: ifVersion)
    }

    /// What `run()` does, for the options given (also called by ``PlainCommandLine``'s quick
    /// path in `AgentMemoryCommand.main()`).
    static func execute(settings: RuntimeSettings, key: String, value: String, json: Bool, ttl: Int?, ifVersion: Int?) async throws {
        try await runReportingErrors {
            if let ttl, ttl < 1 { throw CLIError("--ttl must be a whole number of seconds >= 1, got \(ttl)", exitCode: 2) }
            let namespace = try settings.resolvedNamespace()
            // The key and the value are checked before the store is opened (or created).
            let memoryKey = try MemoryKey(key)
            let parsed = try commandLineValue(value, json: json, verb: "store")
            try await settings.withAgentAndStore { agent, store in
                let record = try await reportingConflicts {
                    try await store.put(
                        memoryKey, value: parsed, in: namespace, options: PutOptions(ifVersion: ifVersion, ttl: ttl.map { .seconds($0) }, author: agent))
                }
                try printLine(record.version == 1 ? "Remembered \"\(key)\" (version 1)." : "Updated \"\(key)\" (version \(record.version)).")
            }
        }
    }
}

struct Recall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "recall", abstract: "Print the value stored under a key.")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Argument(help: "The key.") var key: String
    @Flag(help: "Print the whole record as JSON (key, value, version, createdAt, updatedAt, author, expiresAt).")
    var json = false

    func run() async throws {
        try await Self.execute(settings: global.settings, key: key, json: json)
    }

    /// What `run()` does, for the options given (also called by ``PlainCommandLine``'s quick
    /// path in `AgentMemoryCommand.main()`).
    static func execute(settings: RuntimeSettings, key: String, json: Bool) async throws {
        try await runReportingErrors {
            let namespace = try settings.resolvedNamespace()
            try await settings.withAgentAndStore { _, store in
                guard let record = try await store.get(key, in: namespace) else {
                    throw CLIError(try await missingKeyMessage(key, in: namespace, store: store), exitCode: 1)
                }
                if json {
                    try printLine(record.jsonObject.jsonString())
                } else if case .string(let text) = record.value {
                    try printLine(text)
                } else {
                    try printLine(record.value.jsonString())
                }
            }
        }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys in byte order, one per line with a preview.")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Option(help: "Only keys starting with this prefix.") var prefix: String?
    @Option(help: "How many keys to print.") var limit = Self.defaultLimit
    @Option(help: "Continue after a previous page (the cursor it printed).") var cursor: String?
    @Flag(help: "Print {\"records\": [...], \"nextCursor\": ...} as JSON.") var json = false
    @Flag(help: "Also list the library's reserved keys (agent-loop sessions, under _agent_memory/).") var all = false

    /// The keys printed when `--limit` is not given.
    static let defaultLimit = 100

    func run() async throws {
        try await Self.execute(settings: global.settings, prefix: prefix, limit: limit, cursor: cursor, json: json, all: all)
    }

    /// What `run()` does, for the options given (also called by ``PlainCommandLine``).
    static func execute(settings: RuntimeSettings, prefix: String?, limit: Int, cursor: String?, json: Bool, all: Bool) async throws {
        try await runReportingErrors {
            guard limit >= 1 else { throw CLIError("--limit must be at least 1, got \(limit)", exitCode: 2) }
            let namespace = try settings.resolvedNamespace()
            try await settings.withAgentAndStore { _, store in
                var page = try await store.list(in: namespace, prefix: prefix, cursor: cursor, limit: limit)
                if !all {
                    // Session transcripts are the library's, not memories; the page may come out short.
                    page.records.removeAll { ReservedKeys.isReserved($0.key) }
                }
                if json {
                    let object: JSONValue = [
                        "records": .array(page.records.map(\.jsonObject)),
                        "nextCursor": page.nextCursor.map(JSONValue.string) ?? .null,
                    ]
                    try printLine(object.jsonString())
                    return
                }
                for record in page.records {
                    try printLine("\(record.key)\t\(MemoryText.preview(of: record.value))")
                }
                if let next = page.nextCursor {
                    _ = writeLine("more keys: --cursor \(next)", to: STDERR_FILENO)
                }
            }
        }
    }
}

struct Forget: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "forget", abstract: "Delete a key.")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Argument(help: "The key.") var key: String
    @Option(help: ArgumentHelp(
        "Compare-and-set: delete only if the key is at this version; exit status 3 otherwise.", valueName: "n"))
    var ifVersion: Int?

    func run() async throws {
        try await Self.execute(settings: global.settings, key: key, ifVersion: ifVersion)
    }

    /// What `run()` does, for the options given (also called by ``PlainCommandLine``).
    static func execute(settings: RuntimeSettings, key: String, ifVersion: Int?) async throws {
        try await runReportingErrors {
            let namespace = try settings.resolvedNamespace()
            try await settings.withAgentAndStore { agent, store in
                let deleted = try await reportingConflicts {
                    try await store.delete(key, in: namespace, ifVersion: ifVersion, author: agent)
                }
                guard deleted else {
                    throw CLIError(try await missingKeyMessage(key, in: namespace, store: store, then: "; nothing was forgotten"), exitCode: 1)
                }
                try printLine("Forgot \"\(key)\".")
            }
        }
    }
}

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Full-text search over keys and values, best match first.")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Argument(help: "Words to look for.") var query: String
    @Option(help: "How many matches.") var limit = Self.defaultLimit

    /// The matches printed when `--limit` is not given.
    static let defaultLimit = 10

    func run() async throws {
        try await Self.execute(settings: global.settings, query: query, limit: limit)
    }

    /// What `run()` does, for the options given (also called by ``PlainCommandLine``).
    static func execute(settings: RuntimeSettings, query: String, limit: Int) async throws {
        try await runReportingErrors {
            guard limit >= 1 else { throw CLIError("--limit must be at least 1, got \(limit)", exitCode: 2) }
            let namespace = try settings.resolvedNamespace()
            try await settings.withAgentAndStore { _, store in
                for hit in try await store.search(query, in: namespace, limit: limit) {
                    try printLine("\(hit.record.key)\t\(MemoryText.singleLine(hit.snippet, limit: 200))")
                }
            }
        }
    }
}

struct Namespaces: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "namespaces", abstract: "List namespaces with their record counts.")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }

    func run() async throws {
        try await runReportingErrors {
            try await global.withStore { store in
                for summary in try await store.namespaces() {
                    try printLine("\(summary.namespace)\t\(summary.recordCount)")
                }
            }
        }
    }
}

/// The error for a key with no memory: the namespace, what follows (`then`), and the closest
/// existing keys when there are any (the store's suggestions, as the `recall` tool gives them).
func missingKeyMessage(_ key: String, in namespace: Namespace, store: any MemoryStore, then: String = "") async throws -> String {
    let message = "No memory is stored under \"\(key)\" in namespace \"\(namespace)\"\(then)"
    let suggestions = try await store.suggestKeys(near: try MemoryKey(key), in: namespace, limit: 5)
    guard !suggestions.isEmpty else { return message }
    return message + ". Closest existing keys: " + suggestions.map { "\"\($0)\"" }.joined(separator: ", ")
}

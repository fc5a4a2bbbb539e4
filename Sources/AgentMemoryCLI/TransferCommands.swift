import AgentMemoryJSON
import AgentMemory
import AgentMemoryRuntime
import ArgumentParser
import Foundation

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the namespace's records to stdout as JSON Lines (every field of every record).")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }

    func run() async throws {
        try await runReportingErrors {
            let namespace = try global.resolvedNamespace()
            try await global.withStore { store in
                try await MemoryExport.write(from: store, namespace: namespace) { chunk in
                    if let failure = writeText(chunk, to: STDOUT_FILENO) { throw CLIError("cannot write to stdout: \(failure)") }
                }
            }
        }
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read JSON Lines records (as written by export) from FILE or stdin into the namespace.",
        discussion: """
            Every line is checked first, against the store's limits; if any is invalid, each bad line is \
            reported with its number and nothing is imported. Valid input is written in one transaction. Each record's value, author and \
            remaining time to live are kept; versions and times are the store's (a key that exists gets a \
            new version). Records that have already expired are skipped. On a SQLite store, an import of \
            \(Import.largeImportText) records or more that makes up at least half of the store is \
            followed by a merge of the full-text index into one segment, which makes searches over it faster \
            (searches wait for it, writes do not: about 1.6 s at a million records). On PostgreSQL, an import \
            of 10,000 records or more is followed by an ANALYZE of the records table (about 0.3 s), so that \
            searches right after it are planned for the new records.
            """)

    /// Records an import must write, and half of the store at least, to be followed by a merge
    /// of the SQLite full-text index (``SQLiteMemoryStore/optimizeSearchIndex()``): smaller
    /// imports leave the index as the writes' own merging keeps it, and merging a large index
    /// after a small import would cost far more than the import.
    static let largeImport = 10_000

    /// ``largeImport`` with its thousands grouped ("10,000"), for the help text. Not
    /// `formatted()`: every process builds every command's configuration while parsing its
    /// arguments, and the locale-aware formatter's first use loaded ICU in each one (about a
    /// millisecond of every start: BENCHMARKS.md, round nineteen). Integer and string arithmetic
    /// only: generic collection code here (an array of characters and a stride) instantiated
    /// type metadata at every start.
    static var largeImportText: String {
        var text = ""
        var value = largeImport
        while value >= 1_000 {
            let group = value % 1_000
            text = "," + (group < 10 ? "00" : group < 100 ? "0" : "") + String(group) + text
            value /= 1_000
        }
        return String(value) + text
    }

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Argument(help: "A JSON Lines file (default: stdin).") var file: String?

    func run() async throws {
        try await runReportingErrors {
            let namespace = try global.resolvedNamespace()
            let data: Data
            if let file {
                guard let contents = FileManager.default.contents(atPath: file) else {
                    throw CLIError("Cannot read \(file)", exitCode: 2)
                }
                data = contents
            } else {
                data = FileHandle.standardInput.readDataToEndOfFile()
            }
            try await global.withStore { store in
                let imported: MemoryImport
                do {
                    imported = try await MemoryImport.run(data, into: store, namespace: namespace, agent: (try global.resolvedAgent()))
                } catch let error as MemoryImportError {
                    throw CLIError(error.description, exitCode: 2)
                }
                let skipped = imported.skippedExpired
                try printLine(
                    "Imported \(imported.operations.count) records into \"\(namespace)\""
                        + (skipped > 0 ? " (skipped \(skipped) expired)." : "."))
                if let sqlite = store as? SQLiteMemoryStore, imported.operations.count >= Self.largeImport {
                    let records = try await store.namespaces().reduce(0) { $0 + $1.recordCount }
                    if imported.operations.count * 2 >= records {
                        let (before, after) = try await sqlite.optimizeSearchIndex()
                        if after < before { try printLine(Optimize.merged(before, into: after)) }
                    }
                }
            }
        }
    }
}

struct Optimize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimize",
        abstract: "Merge the SQLite store's full-text index into one segment, so that searches over it run faster.",
        discussion: """
            Each batch of writes adds a segment to the index, and every word a search looks up is looked up in \
            each segment. A store that stays open (serve, mcp, a long session) merges its index by itself while \
            its writes rest; a store written by short commands like remember and exec can be merged with this \
            one. Searches wait for the merge, writes do not: about 1.6 s at a million records. PostgreSQL and memory: stores have \
            nothing to merge.
            """)

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }

    /// The line a merge that left fewer segments prints (here and after a large import).
    static func merged(_ before: Int, into after: Int) -> String {
        "Merged the search index (\(before) segments into \(after))."
    }

    func run() async throws {
        try await runReportingErrors {
            try await global.withStore { store in
                guard let sqlite = store as? SQLiteMemoryStore else {
                    try printLine("Nothing to merge: only an SQLite store keeps its search index in segments.")
                    return
                }
                let (before, after) = try await sqlite.optimizeSearchIndex()
                if after < before {
                    try printLine(Self.merged(before, into: after))
                } else if before == 0 {
                    try printLine("The search index is empty: nothing to merge.")
                } else {
                    try printLine("The search index is already one segment.")
                }
            }
        }
    }
}

import AgentMemoryJSON
import AgentMemory
import AgentMemoryBench
import AgentMemoryRuntime
import ArgumentParser
import Foundation

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the stores, the tool executor, the agent loop and the CLI, and compare with the targets.",
        discussion: """
            Run a release build: swift run -c release agent-memory bench. Measures the in-memory and SQLite \
            stores (throwaway files, deleted afterwards; with --store sqlite:PATH they go in PATH's folder) on a \
            namespace of --records notes: durable puts (synchronous FULL and NORMAL), gets (hits and misses), list \
            pages of 100, searches (limit 10 and 100), 1, 4 and 16 concurrent writers; the tool executor end to \
            end and one turn of remember calls; the agent loop's own time per turn against a scripted server on \
            127.0.0.1; `agent-memory recall` as a process; peak memory. With --store given as another kind of \
            store (such as a PostgreSQL URL, where the build has one), that store is measured too, in a \
            namespace of its own that is emptied afterwards.
            """)

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }

    @Option(help: ArgumentHelp("Records in the measured namespace (default 10,000; 1,000 with --quick).", valueName: "n"))
    var records: Int?

    @Flag(help: "Print the results as JSON instead of a table.")
    var json = false

    @Flag(help: "Small counts: a smoke run that finishes well within a minute.")
    var quick = false

    @Option(help: ArgumentHelp(
        "Only these groups, comma-separated: store, writers, executor, loop, process, postgres (default: all; postgres needs --store postgres://...).", valueName: "groups"))
    var only: String?

    @Flag(help: "Measure retrieval quality instead: recall@5 and @10 of search_memory on the LoCoMo questions of --data.")
    var retrieval = false

    @Option(help: ArgumentHelp("The LoCoMo JSON file for --retrieval (such as ../shared/data/locomo-dev.json).", valueName: "path"))
    var data: String?

    static var groups: Set<String> { BenchRunner.groups }

    func run() async throws {
        try await runReportingErrors {
            if retrieval || data != nil {
                guard retrieval, let data else { throw CLIError("--retrieval and --data go together", exitCode: 2) }
                let location = try benchLocation()
                let other = try location.flatMap { location -> (any MemoryStore, String)? in
                    guard location != .inMemory, !location.isSQLite else { return nil }
                    return (try location.open(), String(location.description.prefix(while: { $0 != ":" })))
                }
                try printLine(try await RetrievalBenchmark.runAll(dataPath: data, other: other))
                return
            }
            let count = records ?? (quick ? 1_000 : 10_000)
            guard count >= 1 else { throw CLIError("--records must be at least 1, got \(count)", exitCode: 2) }
            let groups = try parseGroups()
            let plan = quick ? BenchPlan.quick(records: count) : BenchPlan.full(records: count)
            let report: BenchReport
            do {
                report = try await BenchRunner(plan: plan, groups: groups, location: try benchLocation()).run()
            } catch let error as BenchError {
                throw CLIError(error.message)
            }
            try printLine(json ? report.json.jsonString(pretty: true) : report.table)
        }
    }

    private func parseGroups() throws -> Set<String> {
        guard let only else { return Self.groups }
        let names = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let unknown = names.subtracting(Self.groups)
        guard unknown.isEmpty, !names.isEmpty else {
            throw CLIError(
                "--only takes groups among \(Self.groups.sorted().joined(separator: ", ")); got \(only)", exitCode: 2)
        }
        return names
    }

    /// Only an explicit --store counts (not AGENT_MEMORY_STORE or the default file): the bench
    /// writes nothing to a store the user did not name.
    private func benchLocation() throws -> StoreLocation? {
        guard global.store != nil else { return nil }
        return try global.location()
    }
}

import AgentMemory
// Store locations live in their own module on main (merged later); this keeps the file
// compiling on both sides of that merge.
#if canImport(AgentMemoryLocations)
import AgentMemoryLocations
#endif
import ArgumentParser
import Foundation

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
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
        "Only these groups, comma-separated: store, writers, executor, loop, process (default: all).", valueName: "groups"))
    var only: String?

    @Flag(help: "Measure retrieval quality instead: recall@5 and @10 of search_memory on the LoCoMo questions of --data.")
    var retrieval = false

    @Option(help: ArgumentHelp("The LoCoMo JSON file for --retrieval (such as ../shared/data/locomo-dev.json).", valueName: "path"))
    var data: String?

    static let groups: Set<String> = ["store", "writers", "executor", "loop", "process"]

    func run() async throws {
        try await runReportingErrors {
            if retrieval || data != nil {
                guard retrieval, let data else { throw CLIError("--retrieval and --data go together", exitCode: 2) }
                let location = try benchLocation()
                let other = try location.flatMap { location -> (any MemoryStore, String)? in
                    guard location != .inMemory, !location.isSQLite else { return nil }
                    return (try location.open(), String(location.description.prefix(while: { $0 != ":" })))
                }
                printLine(try await RetrievalBenchmark.runAll(dataPath: data, other: other))
                return
            }
            let count = records ?? (quick ? 1_000 : 10_000)
            guard count >= 1 else { throw CLIError("--records must be at least 1, got \(count)", exitCode: 2) }
            let groups = try parseGroups()
            let plan = quick ? BenchPlan.quick(records: count) : BenchPlan.full(records: count)
            let report = try await BenchRunner(plan: plan, groups: groups, location: try benchLocation()).run()
            printLine(json ? report.json.jsonString(pretty: true) : report.table)
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

/// Runs the measures of a plan, in an order that keeps the filled namespaces reused.
struct BenchRunner {
    let plan: BenchPlan
    let groups: Set<String>
    /// --store: an SQLite path whose folder takes the throwaway files, `memory:`, or another
    /// store to measure besides the in-memory and SQLite ones.
    let location: StoreLocation?
    let data = BenchData()

    func progress(_ text: String) {
        FileHandle.standardError.write(Data(("bench: " + text + "\n").utf8))
    }

    func run() async throws -> BenchReport {
        let clock = ContinuousClock()
        let start = clock.now
        var report = BenchReport(plan: plan)
        report.loadBefore = BenchReport.loadAverage()
        let namespace = try Namespace("bench")
        let stores = StoreBenchmarks(plan: plan, data: data, namespace: namespace)
        let executor = ExecutorBenchmarks(plan: plan, data: data, namespace: namespace)

        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bench.sqlite").path
        let needsFill = !groups.isDisjoint(with: ["store", "writers", "executor", "process"])

        // In-memory store.
        if needsFill {
            let memory = InMemoryMemoryStore()
            report.measurements += try await measureStore(memory, label: "memory", slug: "memory", stores: stores, executor: executor, durable: nil)
        }

        // The executor over a bare dictionary: its own cost, without a store's.
        if groups.contains("executor") {
            let flat = FlatStore()
            progress("tool executor over a bare dictionary")
            try await stores.fillQuietly(flat)
            report.measurements.append(try await executor.endToEnd(flat, label: "dictionary", slug: "flat"))
        }

        // SQLite, synchronous FULL, then the same file with NORMAL.
        if needsFill {
            let sqlite = try SQLiteMemoryStore(path: path, synchronous: .full)
            report.measurements += try await measureStore(sqlite, label: "sqlite FULL", slug: "sqlite", stores: stores, executor: executor, durable: .full)
            if groups.contains("process") {
                progress("`agent-memory recall` as a process")
                report.measurements.append(try await ProcessBenchmark(plan: plan).recall(storePath: path, namespace: namespace, key: BenchData.key(0)))
            }
        }
        if groups.contains("store") {
            report.measurements.append(try await stores.dispatchHop())
            report.measurements += try await GRDBReadBaseline(plan: plan).measure(path: path, namespace: namespace)
            report.measurements += try await GRDBReadBaseline(plan: plan).plainWrites(directory: directory)
            let normal = try SQLiteMemoryStore(path: path, synchronous: .normal)
            progress("sqlite NORMAL: puts")
            report.measurements.append(try await stores.puts(
                normal, label: "sqlite NORMAL", name: "put, one writer", prefix: "put-normal", target: BenchTargets.normalPut))
        }

        // Another store named by --store (PostgreSQL, where the build has it).
        if let location, needsFill, location != .inMemory, !location.isSQLite {
            report.measurements += try await measureOther(location, stores: stores, executor: executor)
        }

        if groups.contains("loop") {
            for streaming in [false, true] {
                progress("agent loop against the scripted server (\(streaming ? "streaming" : "non-streaming"))")
                report.measurements += try await LoopBenchmark(plan: plan, data: data).run(streaming: streaming)
            }
        }
        report.peakMemoryBytes = peakResidentBytes()
        report.loadAfter = BenchReport.loadAverage()
        report.seconds = (clock.now - start).seconds
        return report
    }

    private enum Durability { case full }

    /// Fill, puts, reads, concurrent writers and the executor measures on one store.
    private func measureStore(
        _ store: any MemoryStore, label: String, slug: String, stores: StoreBenchmarks, executor: ExecutorBenchmarks,
        durable: Durability?
    ) async throws -> [BenchMeasurement] {
        var results: [BenchMeasurement] = []
        progress("\(label): filling \(plan.records.formatted) records")
        results.append(try await stores.fill(store, label: label))
        if groups.contains("store") {
            progress("\(label): puts, gets, lists, searches")
            let put = try await stores.puts(
                store, label: label, name: "put, one writer", prefix: "put-\(slug)", target: durable == nil ? nil : BenchTargets.durablePut)
            results.append(put)
            results += try await stores.reads(store, label: label)
        }
        if groups.contains("writers") {
            progress("\(label): concurrent writers")
            for tasks in [1, 4, 16] {
                let target: BenchTarget? = durable == nil ? nil : tasks == 16 ? BenchTargets.concurrentPut : tasks == 1 ? BenchTargets.durablePut : nil
                results.append(try await stores.concurrentWriters(store, label: label, tasks: tasks, target: target))
            }
        }
        if groups.contains("executor") {
            progress("\(label): tool executor")
            results.append(try await executor.endToEnd(store, label: label, slug: slug))
            results.append(try await executor.recallMiss(store, label: label))
            if durable != nil {
                results += try await executor.turn(store, label: label)
            }
        }
        return results
    }

    /// The measures on a store given by --store that is neither SQLite nor in-memory, in a
    /// namespace of its own that is emptied afterwards.
    private func measureOther(_ location: StoreLocation, stores: StoreBenchmarks, executor: ExecutorBenchmarks) async throws -> [BenchMeasurement] {
        let namespace = try Namespace("bench-\(UUID().uuidString.lowercased().prefix(8))")
        let store = try location.open()
        let label = String(location.description.prefix(while: { $0 != ":" }))
        let ownStores = StoreBenchmarks(plan: plan, data: data, namespace: namespace)
        let ownExecutor = ExecutorBenchmarks(plan: plan, data: data, namespace: namespace)
        do {
            let results = try await measureStore(store, label: label, slug: "other", stores: ownStores, executor: ownExecutor, durable: .full)
            try await empty(store, namespace: namespace)
            return results
        } catch {
            try? await empty(store, namespace: namespace)
            throw error
        }
    }

    private func empty(_ store: any MemoryStore, namespace: Namespace) async throws {
        progress("emptying namespace \(namespace) of the measured store")
        while true {
            let page = try await store.list(in: namespace, prefix: nil, cursor: nil, limit: 1_000)
            if page.records.isEmpty { return }
            try await store.batch(page.records.map { .delete(key: $0.key) }, in: namespace)
        }
    }

    /// A new folder for the throwaway SQLite file: beside --store's file when it is SQLite,
    /// else in the system's temporary folder.
    private func makeTemporaryDirectory() throws -> URL {
        var parent = FileManager.default.temporaryDirectory
        if let location, case .sqlite(let path) = location {
            let folder = (path as NSString).deletingLastPathComponent
            parent = URL(fileURLWithPath: folder.isEmpty ? "." : folder)
        }
        let directory = parent.appendingPathComponent("agent-memory-bench-\(UUID().uuidString.lowercased())")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw CLIError("cannot create a folder for the benchmark's files at \(directory.path): \(error)")
        }
        return directory
    }
}

extension StoreLocation {
    var isSQLite: Bool {
        if case .sqlite = self { return true }
        return false
    }
}

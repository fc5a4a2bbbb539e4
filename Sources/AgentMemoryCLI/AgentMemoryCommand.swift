import AgentMemoryJSON
import AgentMemory
import AgentMemoryRuntime
import ArgumentParser
import Foundation
import CProcessMemory

@main
struct AgentMemoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-memory",
        abstract: "Persistent, namespaced memory for Claude agents.",
        discussion: """
            Store: --store sqlite:PATH | postgres://USER[:PASSWORD]@HOST:PORT/DB | memory: (env AGENT_MEMORY_STORE; default \
            $AGENT_MEMORY_HOME/memory.sqlite or ~/.agent-memory/memory.sqlite).
            Namespace: --namespace NAME (env AGENT_MEMORY_NAMESPACE; default "default").
            Agent id recorded as the author of writes: --agent ID (env AGENT_MEMORY_AGENT).
            """,
        version: AgentMemoryRelease.version,
        subcommands: [
            Remember.self, Recall.self, List.self, Forget.self, Search.self, Namespaces.self,
            Append.self, Changes.self, History.self,
            Export.self, Import.self, Optimize.self, Schemas.self, Exec.self,
            Run.self, Chat.self, Sessions.self, Transcript.self, Demo.self, Bench.self, MCPServe.self, Serve.self,
        ]
    )

    @OptionGroup var options: GlobalOptions

    /// Runs the command line, then exits from the thread that ran it. `--version` alone, and a
    /// plain `exec`, `recall`, `remember`, `forget`, `search` or `list` line
    /// (``PlainCommandLine``), run without ArgumentParser's reflection; any other
    /// is parsed and run as ArgumentParser's `main(_:)` would, and exits with the error's
    /// status and message on failure.
    /// Returning would first hop back to the main actor, whose queue Dispatch serves from its
    /// thread pool once the main thread is parked: one more thread started for nothing but the
    /// exit, 0.3 to 0.5 ms of every process (BENCHMARKS.md, round twenty-two). `exit` flushes
    /// stdout.
    static func main() async {
        // Before any store opens: SQLite without the per-connection mutex nothing here needs
        // (``SQLiteMemoryStore/useMultiThreadSQLite()``).
        SQLiteMemoryStore.useMultiThreadSQLite()
        // `--version` alone: what ArgumentParser prints for it, without building its parsers
        // by reflection (13.7M instructions of 14M; BENCHMARKS.md, round forty-seven).
        if CommandLine.arguments.dropFirst().elementsEqual(["--version"]) {
            print(AgentMemoryRelease.version)
            Foundation.exit(0)
        }
        if let line = PlainCommandLine(CommandLine.arguments.dropFirst()) {
            keepFreedMemory()
            await runThenExit(line)
        }
        await runThenExit()
    }

    /// Tells the C allocator to keep the memory a plain command line's process frees, for the
    /// short life of the process: blocks up to 32 MiB come from the heap instead of a mapping
    /// of their own (unmapped when freed, mapped and faulted in again at the next), and the heap
    /// is not trimmed below 64 MiB. An `exec` of 2,000 `remember` calls, whose message, JSON
    /// values and results grow arrays past the default threshold again and again, then takes
    /// 300 fewer page faults (2,200 before) and about 4% less processor time (BENCHMARKS.md,
    /// round forty-seven). Long-running commands (`serve`, `mcp`, `chat`) keep the defaults.
    private static func keepFreedMemory() {
        _ = cprocessmemory_keep_freed_memory()
    }

    /// `line`'s command, then `exit(0)`, on the cooperative pool's thread; a failure is reported
    /// by ``exit(reporting:)``.
    private nonisolated static func runThenExit(_ line: PlainCommandLine) async -> Never {
        do {
            try await line.run()
        } catch {
            exit(reporting: error)
        }
        Foundation.exit(0)
    }

    /// ArgumentParser's `main(_:)` (parse as root, run), then `exit(0)`, on the cooperative
    /// pool's thread; a failure is reported by ``exit(reporting:)``.
    private nonisolated static func runThenExit() async -> Never {
        do {
            var command = try await asyncParseAsRoot(nil)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(reporting: error)
        }
        Foundation.exit(0)
    }

    /// Exits with `error`'s status and message as ArgumentParser's `exit(withError:)` does. An
    /// `ExitCode` (thrown once a command has printed its own message: a missing key, a version
    /// conflict, a bad option value) exits with its status directly: ArgumentParser prints
    /// nothing for it either, but first renders the root command's usage text by reflection, a
    /// third of a missing key's `recall` process (BENCHMARKS.md, round twenty-eight).
    private nonisolated static func exit(reporting error: any Error) -> Never {
        if let code = error as? ExitCode { Foundation.exit(code.rawValue) }
        exit(withError: error)
    }
}

/// Options every subcommand takes; the runtime turns them (and the environment) into a store,
/// a namespace and an agent id.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Where memory is kept: sqlite:PATH, postgres://USER[:PASSWORD]@HOST:PORT/DB or memory:.", valueName: "location"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("The namespace to use (default \"default\").", valueName: "name"))
    var namespace: String?

    @Option(name: .long, help: ArgumentHelp("The agent id recorded as the author of writes.", valueName: "id"))
    var agent: String?

    var environment: [String: String] { PlainCommandLine.environment() }

    /// These options, with any option not given here taken from `parent` (given before the
    /// subcommand).
    func merged(over parent: GlobalOptions) -> GlobalOptions {
        var merged = self
        merged.store = store ?? parent.store
        merged.namespace = namespace ?? parent.namespace
        merged.agent = agent ?? parent.agent
        return merged
    }

    /// The options and the environment, as the runtime reads them.
    var settings: RuntimeSettings {
        RuntimeSettings(store: store, namespace: namespace, agent: agent, environment: environment)
    }

    func location() throws -> StoreLocation { try settings.location() }

    func resolvedNamespace() throws -> Namespace { try settings.resolvedNamespace() }

    /// The agent id (flag, else environment), checked: one with a control character is an error.
    func resolvedAgent() throws -> String? { try settings.agentID() }

    /// Opens the store, runs `body` with it and closes it (also when `body` throws). The agent
    /// id is checked first, so that a bad one is an error before any store is opened or created.
    func withStore<Result>(_ body: (any MemoryStore) async throws -> Result) async throws -> Result {
        try await settings.withAgentAndStore { _, store in try await body(store) }
    }
}

extension RuntimeSettings {
    /// The agent id, checked first (a bad one is an error before any store is opened or
    /// created), then `withStore` (with the store `opened` ahead, if given): what every
    /// command that opens a store does.
    func withAgentAndStore<Result>(
        opened: (any MemoryStore)? = nil, _ body: (String?, any MemoryStore) async throws -> Result
    ) async throws -> Result {
        let agent = try agentID()
        return try await withStore(opened: opened) { store in
            // Closed as usual when the command ends, but not freed: a SQLite store's GRDB pool,
            // freed, unregisters itself from Foundation's NotificationCenter, whose first use
            // is 1.3M instructions of runtime lookups (2% of an `exec` of 2,000 recalls).
            KeptUntilExit.keep(store)
            return try await body(agent, store)
        }
    }
}

/// An error the CLI reports on stderr with a chosen exit status.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let exitCode: Int32

    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}

/// Runs a command body, turning errors into a message on stderr and an exit status:
/// 1 for a failure or a miss, 2 for bad input or configuration.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        printError(error.message)
        throw ExitCode(error.exitCode)
    } catch let error as RuntimeError {
        printError(error.message)
        throw ExitCode(error.kind == .unavailable ? 1 : 2)
    } catch let error as MemoryError {
        printError(error.message)
        let usage: Set<MemoryError.Code> = [.invalidKey, .invalidArgument, .invalidNamespace, .invalidLocation, .valueTooLarge]
        throw ExitCode(usage.contains(error.code) ? 2 : 1)
    }
}

/// Runs a compare-and-set write; a conflict is reported on stderr with the current version
/// (and its author) and exit status 3, so scripts can re-read and retry.
func reportingConflicts<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as MemoryError where error.code == .versionConflict {
        let author = error.currentAuthor.map { " (written by \($0))" } ?? ""
        throw CLIError("\(error.message)\ncurrent version: \(error.currentVersion ?? 0)\(author)", exitCode: 3)
    }
}

/// A VALUE argument: the text as a string, or parsed as JSON with `--json`.
func commandLineValue(_ text: String, json: Bool, verb: String) throws -> JSONValue {
    guard json else { return .string(text) }
    do {
        return try JSONValue(parsing: text)
    } catch {
        throw CLIError("VALUE is not valid JSON (\(error)); drop --json to \(verb) it as a string", exitCode: 2)
    }
}

/// Writes `error: MESSAGE` and a newline to stderr (a failed write is dropped: there is
/// nowhere left to report it).
func printError(_ message: String) {
    _ = writeLine("error: " + message, to: STDERR_FILENO)
}

/// Writes `text` and a newline to stdout; throws when stdout refuses them (a full disk, a
/// closed descriptor), reported as every command error is (``runReportingErrors(_:)``,
/// status 1), so that a script never takes a cut-off answer for a whole one.
func printLine(_ text: String) throws {
    if let failure = writeLine(text, to: STDOUT_FILENO) { throw CLIError("cannot write to stdout: \(failure)") }
}

/// ``printLine(_:)`` inside callbacks that cannot throw (the agent loop's hooks, the server's
/// start): a line stdout refuses is dropped there, and the command's next ``printLine(_:)``
/// reports the failure.
func printProgress(_ text: String) {
    _ = writeLine(text, to: STDOUT_FILENO)
}

/// Writes `text` and a newline to `descriptor` whole (``writeAll(_:to:)``), from the string's
/// own UTF-8 bytes; returns why it failed, or `nil`.
///
/// Not `FileHandle.write(Data(...))`: a `Data` made from a sequence asks the runtime whether
/// the sequence is contiguous bytes, and the first such question in a process scans all of
/// the binary's 11,445 conformance records (a tenth of an `agent-memory recall` process's
/// instructions, BENCHMARKS.md, round thirty-nine). And `FileHandle.write(_:)` ends in `try!`:
/// a stdout that refused the line crashed the process.
func writeLine(_ text: String, to descriptor: Int32) -> String? {
    var line = text
    line.append("\n")
    return writeText(line, to: descriptor)
}

/// Writes `text` to `descriptor` whole, as it is (no newline added); returns why it failed, or
/// `nil` (see ``writeLine(_:to:)``).
func writeText(_ text: String, to descriptor: Int32) -> String? {
    var text = text
    return text.withUTF8 { writeAll(UnsafeRawBufferPointer($0), to: descriptor) }.map { String(cString: strerror($0)) }
}

/// Writes `bytes` to stdout whole; throws when stdout refuses them.
func writeToStandardOutput(_ bytes: [UInt8]) throws {
    if let failure = bytes.withUnsafeBytes({ writeAll($0, to: STDOUT_FILENO) }) {
        throw CLIError("cannot write to stdout: \(String(cString: strerror(failure)))")
    }
}

/// Values a command leaves to the process's exit instead of freeing them. A command line runs
/// one command and exits; freeing a parsed message of thousands of tool calls object by object
/// just before the exit was 6% of an `exec` process's instructions (BENCHMARKS.md, round
/// twenty-eight).
enum KeptUntilExit {
    private static let values = Locked<[Any]>([])

    /// Keeps `value` alive until the process exits.
    static func keep(_ value: Any) {
        values.withLock { $0.append(value) }
    }
}

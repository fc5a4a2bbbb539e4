import AgentMemoryRuntime
import Foundation

/// A command line of `agent-memory exec`, `recall`, `remember`, `forget`, `search` or `list`
/// in its plain forms, read without ArgumentParser.
///
/// These are the commands an agent on another stack, or a hook, runs once per step, so their
/// process start counts. ArgumentParser builds its parsers by reflection, and every property type it
/// asks about is a scan of the binary's 11,000 protocol conformance records the first time:
/// 12% of the instructions of an `exec` of 2,000 `recall` calls, 7% in its check for
/// `--generate-completion-script` alone, which no public setting turns off (BENCHMARKS.md,
/// round twenty-seven).
///
/// This reads the global options given before the subcommand (`--store`, `--namespace`,
/// `--agent`, as the usage line shows them), the subcommand, then its options (`--name value`
/// or `--name=value`), its flags and its positional arguments in any order, each option and
/// flag at most once on either side; a global option given on both sides takes the value after
/// the subcommand, as ArgumentParser's commands do (`GlobalOptions.merged(over:)`). It declines
/// everything else: help, any other option before the subcommand, a repeated or unknown option,
/// an empty value or argument, one that starts with `-`, or a number option (`--limit`,
/// `--ttl`, `--if-version`) whose value is not a whole number. ArgumentParser then parses the line
/// as before, so its messages and exit codes are unchanged. Where this parser accepts a line,
/// it yields what ArgumentParser would (`PlainCommandLineTests` compares the two).
struct PlainCommandLine: Equatable {
    /// The commands read this way.
    enum Command: String, CaseIterable {
        case exec, recall, remember, forget, search, list

        /// How many positional arguments the command takes.
        var positionals: Int {
            switch self {
            case .exec, .list: 0
            case .recall, .forget, .search: 1
            case .remember: 2
            }
        }
        /// Its options that take a value (the global ones included).
        var options: Set<String> {
            switch self {
            case .exec: PlainCommandLine.globalOptions.union(["--tools"])
            case .recall: PlainCommandLine.globalOptions
            case .remember: PlainCommandLine.globalOptions.union(["--ttl", "--if-version"])
            case .forget: PlainCommandLine.globalOptions.union(["--if-version"])
            case .search: PlainCommandLine.globalOptions.union(["--limit"])
            case .list: PlainCommandLine.globalOptions.union(["--prefix", "--limit", "--cursor"])
            }
        }
        /// Its flags.
        var flags: Set<String> {
            switch self {
            case .exec: ["--read-only", "--pretty"]
            case .recall, .remember: ["--json"]
            case .forget, .search: []
            case .list: ["--json", "--all"]
            }
        }
    }

    /// The subcommand.
    var command: Command
    /// The positional arguments, in order.
    var arguments: [String] = []
    /// The options given, by name (`--store`).
    var options: [String: String] = [:]
    /// The flags given (`--pretty`).
    var flags: Set<String> = []

    /// The options every command takes, before or after its name.
    static let globalOptions: Set<String> = ["--store", "--namespace", "--agent"]
    /// The options whose value is a whole number (`Int`, read as ArgumentParser reads it).
    static let numberOptions: Set<String> = ["--ttl", "--if-version", "--limit"]
}

extension PlainCommandLine {
    /// Reads `arguments` (the command line without the program's name); nil when it is not a
    /// plain line of one of the commands (see the type's documentation).
    init?(_ arguments: some Collection<String>) {
        var rest = Array(arguments)[...]
        // Global options before the subcommand, as ArgumentParser's root command reads them.
        var leading: [String: String] = [:]
        while let argument = rest.first, argument.hasPrefix("-") {
            rest.removeFirst()
            let (name, given) = Self.split(argument)
            guard Self.globalOptions.contains(name), leading[name] == nil,
                  let value = Self.value(given, orNextOf: &rest)
            else { return nil }
            leading[name] = value
        }
        guard let first = rest.popFirst(), let command = Command(rawValue: first) else { return nil }
        self.init(command: command)
        while let argument = rest.popFirst() {
            guard !argument.isEmpty else { return nil }
            guard argument.hasPrefix("-") else {
                guard self.arguments.count < command.positionals else { return nil }
                self.arguments.append(argument)
                continue
            }
            let (name, given) = Self.split(argument)
            guard options[name] == nil, !flags.contains(name) else { return nil }
            if command.flags.contains(name) {
                guard given == nil else { return nil }
                flags.insert(name)
            } else if command.options.contains(name) {
                guard let value = Self.value(given, orNextOf: &rest),
                      !Self.numberOptions.contains(name) || Int(value) != nil
                else { return nil }
                options[name] = value
            } else {
                return nil
            }
        }
        guard self.arguments.count == command.positionals else { return nil }
        // One given after the subcommand too wins, as in `GlobalOptions.merged(over:)`.
        options.merge(leading) { after, _ in after }
    }

    /// `argument` (`--name` or `--name=value`) as its name and the value after `=`, if any.
    private static func split(_ argument: String) -> (name: String, value: String?) {
        guard let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    /// An option's value: `given` after its `=`, else the next argument taken from `rest`; nil
    /// when there is none, or it is empty or starts with `-` (such lines are left to
    /// ArgumentParser).
    private static func value(_ given: String?, orNextOf rest: inout ArraySlice<String>) -> String? {
        guard let value = given ?? rest.popFirst(), !value.isEmpty, !value.hasPrefix("-") else { return nil }
        return value
    }

    /// The settings the global options name, with this process's environment.
    var settings: RuntimeSettings {
        RuntimeSettings(
            store: options["--store"], namespace: options["--namespace"], agent: options["--agent"],
            environment: Self.environment())
    }

    /// This process's environment, read from C's `environ` (the first of a repeated name, as
    /// `getenv` finds it). Foundation's `ProcessInfo.processInfo.environment` made the same
    /// dictionary with 370,000 instructions, a fifth of a `recall` process, most of them in
    /// `ProcessInfo`'s one-time set-up (BENCHMARKS.md, round forty-seven).
    static func environment() -> [String: String] {
        var variables: [String: String] = [:]
        guard var entry = environ as UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? else { return variables }
        variables.reserveCapacity(64)
        while let pointer = entry.pointee {
            let bytes = UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))
            if let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(decoding: bytes[..<equals], as: UTF8.self)
                if variables[name] == nil { variables[name] = String(decoding: bytes[(equals + 1)...], as: UTF8.self) }
            }
            entry += 1
        }
        return variables
    }

    /// Runs the command as its ArgumentParser `run()` does.
    func run() async throws {
        switch command {
        case .exec:
            try await Exec.execute(
                settings: settings, tools: options["--tools"], readOnly: flags.contains("--read-only"), pretty: flags.contains("--pretty"))
        case .recall:
            try await Recall.execute(settings: settings, key: arguments[0], json: flags.contains("--json"))
        case .remember:
            try await Remember.execute(
                settings: settings, key: arguments[0], value: arguments[1], json: flags.contains("--json"),
                ttl: number("--ttl"), ifVersion: number("--if-version"))
        case .forget:
            try await Forget.execute(settings: settings, key: arguments[0], ifVersion: number("--if-version"))
        case .search:
            try await Search.execute(settings: settings, query: arguments[0], limit: number("--limit") ?? Search.defaultLimit)
        case .list:
            try await List.execute(
                settings: settings, prefix: options["--prefix"], limit: number("--limit") ?? List.defaultLimit, cursor: options["--cursor"],
                json: flags.contains("--json"), all: flags.contains("--all"))
        }
    }

    /// A number option's value (checked when the line was read).
    func number(_ name: String) -> Int? { options[name].flatMap { Int($0) } }
}

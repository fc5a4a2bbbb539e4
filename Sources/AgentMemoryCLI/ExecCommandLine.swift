import AgentMemoryRuntime
import Foundation

/// The command line of `agent-memory exec` in its plain forms, read without ArgumentParser.
///
/// `exec` is what an agent on another stack runs once per turn, so its process start counts.
/// ArgumentParser builds its parsers by reflection, and every property type it asks about is a
/// scan of the binary's 11,000 protocol conformance records the first time: 12% of the
/// instructions of an `exec` of 2,000 `recall` calls, 7% in its check for
/// `--generate-completion-script` alone, which no public setting turns off (BENCHMARKS.md,
/// round twenty-seven). This reads `exec` followed by its options (`--store`, `--namespace`,
/// `--agent`, `--tools` with a value, as `--name value` or `--name=value`; the flags
/// `--read-only` and `--pretty`), each at most once, and declines everything else: help,
/// options before the subcommand, a repeated or unknown option, an empty value or one that
/// starts with `-`. ArgumentParser then parses the line as before, so its messages and
/// exit codes are unchanged. Where this parser accepts a line, it yields what ArgumentParser
/// would (`ExecCommandLineTests` compares the two).
struct ExecCommandLine: Equatable {
    /// `--store`, or nil.
    var store: String?
    /// `--namespace`, or nil.
    var namespace: String?
    /// `--agent`, or nil.
    var agent: String?
    /// `--tools`, or nil.
    var tools: String?
    /// `--read-only` was given.
    var readOnly = false
    /// `--pretty` was given.
    var pretty = false
}

extension ExecCommandLine {
    /// Reads `arguments` (the command line without the program's name); nil when it is not a
    /// plain `exec` line (see the type's documentation).
    init?(_ arguments: some Collection<String>) {
        guard arguments.first == "exec" else { return nil }
        self.init()
        var seen: Set<String> = []
        var rest = arguments.dropFirst()
        while let argument = rest.popFirst() {
            let name: String
            var value: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                name = argument
            }
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "--read-only", "--pretty":
                guard value == nil else { return nil }
                if name == "--pretty" { pretty = true } else { readOnly = true }
            case "--store", "--namespace", "--agent", "--tools":
                if value == nil { value = rest.popFirst() }
                guard let value, !value.isEmpty, !value.hasPrefix("-") else { return nil }
                switch name {
                case "--store": store = value
                case "--namespace": namespace = value
                case "--agent": agent = value
                default: tools = value
                }
            default:
                return nil
            }
        }
    }

    /// The settings the options name, with this process's environment.
    var settings: RuntimeSettings {
        RuntimeSettings(store: store, namespace: namespace, agent: agent, environment: ProcessInfo.processInfo.environment)
    }
}

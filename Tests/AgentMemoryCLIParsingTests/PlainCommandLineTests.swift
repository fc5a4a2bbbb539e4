@testable import AgentMemoryCLI
import ArgumentParser
import Testing

/// `PlainCommandLine`, the quick path of `agent-memory exec` and `recall`, against
/// ArgumentParser: every line the quick path reads must be read the same by ArgumentParser, and
/// every other line is left to ArgumentParser.
@Suite struct PlainCommandLineTests {
    /// What ArgumentParser makes of `line`, in the quick path's terms; nil when the line is not
    /// an `exec` or a `recall`, or does not parse.
    static func parsedByArgumentParser(_ line: [String]) -> PlainCommandLine? {
        func options(_ global: GlobalOptions, _ more: [String: String?] = [:]) -> [String: String] {
            let all: [String: String?] = ["--store": global.store, "--namespace": global.namespace, "--agent": global.agent]
            return all.merging(more) { $1 }.compactMapValues { $0 }
        }
        func flags(_ given: [String: Bool]) -> Set<String> { Set(given.filter(\.value).keys) }
        switch try? AgentMemoryCommand.parseAsRoot(line) {
        case let exec as Exec:
            return PlainCommandLine(
                command: .exec, options: options(exec.global, ["--tools": exec.tools]),
                flags: flags(["--read-only": exec.readOnly, "--pretty": exec.pretty]))
        case let recall as Recall:
            return PlainCommandLine(
                command: .recall, arguments: [recall.key], options: options(recall.global), flags: flags(["--json": recall.json]))
        default:
            return nil
        }
    }

    @Test func plainLinesAreReadAsArgumentParserReadsThem() throws {
        let lines: [[String]] = [
            ["exec"],
            ["exec", "--store", "sqlite:/tmp/a b/memory.sqlite", "--namespace", "team/alpha"],
            ["exec", "--store=postgres://u:p=q@127.0.0.1:5432/db", "--pretty", "--read-only"],
            ["exec", "--namespace=ns", "--agent", "planner", "--tools", "recall,remember"],
            ["exec", "--tools=all", "--agent=é-agent", "--store", "memory:"],
            ["exec", "--pretty", "--namespace", "=starts-with-equals"],
            ["recall", "user/name"],
            ["recall", "--store", "memory:", "a=b", "--json"],
            ["recall", "--namespace=team", "key with spaces", "--agent", "x"],
            ["recall", "recall"],
            // Global options before the subcommand (the usage line's form).
            ["--store", "memory:", "exec"],
            ["--store=sqlite:/tmp/m.sqlite", "--namespace", "team", "--agent=a", "exec", "--pretty", "--tools", "all"],
            ["--namespace", "before", "exec", "--namespace", "after"],  // the one after the subcommand wins
            ["--agent", "x", "recall", "k", "--json"],
            ["--store", "memory:", "recall", "--store", "sqlite:/tmp/other.sqlite", "k"],
        ]
        for line in lines {
            let quick = try #require(PlainCommandLine(line), "\(line)")
            #expect(quick == Self.parsedByArgumentParser(line), "\(line)")
        }
        #expect(PlainCommandLine(lines[1]) == PlainCommandLine(
            command: .exec, options: ["--store": "sqlite:/tmp/a b/memory.sqlite", "--namespace": "team/alpha"]))
        #expect(PlainCommandLine(lines[2]) == PlainCommandLine(
            command: .exec, options: ["--store": "postgres://u:p=q@127.0.0.1:5432/db"], flags: ["--read-only", "--pretty"]))
        #expect(PlainCommandLine(lines[7]) == PlainCommandLine(
            command: .recall, arguments: ["a=b"], options: ["--store": "memory:"], flags: ["--json"]))
        #expect(PlainCommandLine(lines[11]) == PlainCommandLine(
            command: .exec, options: ["--store": "sqlite:/tmp/m.sqlite", "--namespace": "team", "--agent": "a", "--tools": "all"],
            flags: ["--pretty"]))
        #expect(PlainCommandLine(lines[12]) == PlainCommandLine(command: .exec, options: ["--namespace": "after"]))
    }

    @Test func everyOtherLineIsLeftToArgumentParser() {
        let declined: [[String]] = [
            [],
            ["remember", "k", "v"],
            ["--pretty", "exec"],  // an option of the subcommand's before it
            ["--tools", "all", "exec"],
            ["--store", "a", "--store", "b", "exec"],  // a global option repeated before the subcommand
            ["--store", "memory:"],  // no subcommand
            ["--store", "exec"],  // the subcommand taken as the value
            ["--store", "-x", "exec"], ["--store=", "exec"], ["--store", "", "exec"],
            ["--help", "exec"], ["--version"],
            ["exec", "--help"], ["exec", "-h"], ["exec", "help"], ["exec", "--version"], ["recall", "--help"],
            ["exec", "--generate-completion-script", "bash"], ["exec", "--generate-completion-script"],
            ["exec", "--namespace", "a", "--namespace", "b"],  // repeated
            ["exec", "--pretty", "--pretty"],
            ["exec", "--namespace"],  // no value
            ["exec", "--namespace", "--pretty"],  // a value that is an option
            ["exec", "--namespace", "-x"],
            ["exec", "--store="],  // an empty value
            ["exec", "--pretty=yes"],
            ["exec", "--", "--pretty"],
            ["exec", "extra"],  // exec takes no argument
            ["exec", "--bogus"],
            ["exec", "--json"],  // recall's flag
            ["recall"], ["recall", "a", "b"],  // one key, exactly
            ["recall", ""], ["recall", "-k"], ["recall", "--", "-k"],
            ["recall", "k", "--tools", "all"],  // exec's option
        ]
        for line in declined {
            #expect(PlainCommandLine(line) == nil, "\(line)")
        }
    }

    /// Random lines of options, flags and arguments in random order and both spellings, with
    /// values drawn from a set that includes `=`, spaces, non-ASCII text and dashes: whenever
    /// the quick path reads one, ArgumentParser reads the same, and the quick path reads every
    /// line without repeats, dashed values or a wrong number of arguments.
    @Test func randomLinesAgree() throws {
        var generator = SystemRandomNumberGenerator()
        let values = ["memory:", "sqlite:/tmp/x.sqlite", "a=b", "two words", "ünï", "recall", "exec", "-dash", "--store"]
        var read = 0
        for _ in 0..<600 {
            let command = PlainCommandLine.Command.allCases.randomElement(using: &generator)!
            let valued = command.options.sorted()
            let flags = command.flags.sorted()
            var line = [command.rawValue]
            var clean = true
            var used: Set<String> = []
            var positionals = 0
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                switch Int.random(in: 0..<3, using: &generator) {
                case 0:
                    let flag = flags.randomElement(using: &generator)!
                    clean = clean && used.insert(flag).inserted
                    line.append(flag)
                case 1:
                    let name = valued.randomElement(using: &generator)!
                    let value = values.randomElement(using: &generator)!
                    clean = clean && used.insert(name).inserted && !value.hasPrefix("-")
                    if Bool.random(using: &generator) {
                        line.append("\(name)=\(value)")
                    } else {
                        line += [name, value]
                    }
                default:
                    // Not a dashed one: that would read as an option (the fixed cases cover it).
                    let value = values.filter { !$0.hasPrefix("-") }.randomElement(using: &generator)!
                    positionals += 1
                    line.append(value)
                }
            }
            clean = clean && positionals == command.positionals
            let quick = PlainCommandLine(line)
            #expect((quick != nil) == clean, "\(line)")
            if let quick {
                read += 1
                #expect(quick == Self.parsedByArgumentParser(line), "\(line)")
            }
        }
        #expect(read > 50)
    }
}

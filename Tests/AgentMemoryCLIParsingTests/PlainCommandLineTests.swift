@testable import AgentMemoryCLI
import ArgumentParser
import Foundation
import Testing

/// `PlainCommandLine`, the quick path of `agent-memory exec`, `recall`, `remember`, `forget`,
/// `search` and `list`, against ArgumentParser: every line the quick path reads must be read the same
/// by ArgumentParser, and every other line is left to ArgumentParser.
@Suite struct PlainCommandLineTests {
    /// What ArgumentParser makes of `line`, in the quick path's terms; nil when the line is not
    /// one of the quick path's commands, or does not parse. A number option is given as
    /// ArgumentParser's number (compare with ``normalized(_:)``), `search`'s and `list`'s
    /// `--limit` always.
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
        case let remember as Remember:
            return PlainCommandLine(
                command: .remember, arguments: [remember.key, remember.value],
                options: options(remember.global, ["--ttl": remember.ttl.map(String.init), "--if-version": remember.ifVersion.map(String.init)]),
                flags: flags(["--json": remember.json]))
        case let forget as Forget:
            return PlainCommandLine(
                command: .forget, arguments: [forget.key], options: options(forget.global, ["--if-version": forget.ifVersion.map(String.init)]))
        case let search as Search:
            return PlainCommandLine(
                command: .search, arguments: [search.query], options: options(search.global, ["--limit": String(search.limit)]))
        case let list as List:
            return PlainCommandLine(
                command: .list, options: options(list.global, ["--prefix": list.prefix, "--limit": String(list.limit), "--cursor": list.cursor]),
                flags: flags(["--json": list.json, "--all": list.all]))
        default:
            return nil
        }
    }

    /// `line` with its number options spelled as numbers (`+3` as `3`) and `search`'s and
    /// `list`'s `--limit` given when it was left to its default, as ``parsedByArgumentParser(_:)``
    /// has them.
    static func normalized(_ line: PlainCommandLine?) -> PlainCommandLine? {
        guard var line else { return nil }
        for name in PlainCommandLine.numberOptions {
            if let value = line.options[name] { line.options[name] = Int(value).map(String.init) ?? value }
        }
        let defaultLimit: [PlainCommandLine.Command: Int] = [.search: Search.defaultLimit, .list: List.defaultLimit]
        if let limit = defaultLimit[line.command], line.options["--limit"] == nil { line.options["--limit"] = String(limit) }
        return line
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
            // The other commands a hook runs once per step.
            ["remember", "user/name", "Ada Lovelace"],
            ["--store", "memory:", "remember", "k", "{\"a\": 1}", "--json", "--ttl", "60", "--if-version=+2"],
            ["remember", "--if-version", "0", "k", "v"],
            ["forget", "user/name", "--if-version", "3"],
            ["--namespace", "team", "forget", "k"],
            ["search", "what does Ada like"],
            ["search", "--limit=5", "swift", "--namespace", "n"],
            ["list"],
            ["--store", "memory:", "list", "--prefix", "user/", "--limit", "20", "--json", "--all", "--cursor=abc"],
        ]
        for line in lines {
            let quick = try #require(PlainCommandLine(line), "\(line)")
            #expect(Self.normalized(quick) == Self.parsedByArgumentParser(line), "\(line)")
        }
        #expect(PlainCommandLine(lines[16]) == PlainCommandLine(
            command: .remember, arguments: ["k", "{\"a\": 1}"], options: ["--store": "memory:", "--ttl": "60", "--if-version": "+2"],
            flags: ["--json"]))
        #expect(PlainCommandLine(lines[16])?.number("--if-version") == 2)
        #expect(PlainCommandLine(lines[20])?.number("--limit") == nil)
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
            ["namespaces"], ["history", "k"],  // commands without the quick path
            ["list", "extra"], ["list", "--limit", "many"], ["list", "--prefix", "-x"],
            ["remember", "k"], ["remember", "k", "v", "w"],  // a key and a value, exactly
            ["remember", "k", "-v"], ["remember", "k", ""],
            ["remember", "k", "v", "--ttl", "1.5"], ["remember", "k", "v", "--ttl", "ten"],  // not whole numbers
            ["remember", "k", "v", "--ttl", "-1"], ["remember", "k", "v", "--if-version="],
            ["forget", "k", "--json"],  // not forget's flag
            ["search", "q", "--limit", "x"], ["search", "q", "--limit", "-1"], ["search"], ["search", "a", "b"],
            ["search", "q", "--pretty"],
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
        let values = ["memory:", "sqlite:/tmp/x.sqlite", "a=b", "two words", "ünï", "recall", "exec", "-dash", "--store", "7", "+3", "0"]
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
                    guard let flag = flags.randomElement(using: &generator) else { continue }  // forget and search have none
                    clean = clean && used.insert(flag).inserted
                    line.append(flag)
                case 1:
                    let name = valued.randomElement(using: &generator)!
                    let value = values.randomElement(using: &generator)!
                    clean = clean && used.insert(name).inserted && !value.hasPrefix("-")
                        && (!PlainCommandLine.numberOptions.contains(name) || Int(value) != nil)
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
                #expect(Self.normalized(quick) == Self.parsedByArgumentParser(line), "\(line)")
            }
        }
        #expect(read > 50)
    }

    /// The quick path's environment, read from `environ`, is Foundation's: values with `=` in
    /// them, empty values and multi-byte text included.
    @Test func theEnvironmentIsFoundations() {
        setenv("AGENT_MEMORY_TEST_EQUALS", "a=b==c", 1)
        setenv("AGENT_MEMORY_TEST_EMPTY", "", 1)
        setenv("AGENT_MEMORY_TEST_TEXT", "caf\u{E9} \u{1F600}", 1)
        defer {
            for name in ["AGENT_MEMORY_TEST_EQUALS", "AGENT_MEMORY_TEST_EMPTY", "AGENT_MEMORY_TEST_TEXT"] { unsetenv(name) }
        }
        let environment = PlainCommandLine.environment()
        #expect(environment["AGENT_MEMORY_TEST_EQUALS"] == "a=b==c")
        #expect(environment["AGENT_MEMORY_TEST_EMPTY"] == "")
        #expect(environment["AGENT_MEMORY_TEST_TEXT"] == "caf\u{E9} \u{1F600}")
        #expect(environment == ProcessInfo.processInfo.environment)
    }
}

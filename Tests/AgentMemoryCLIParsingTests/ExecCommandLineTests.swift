@testable import AgentMemoryCLI
import ArgumentParser
import Testing

/// `ExecCommandLine`, the quick path of `agent-memory exec`, against ArgumentParser: every line
/// the quick path reads must be read the same by ArgumentParser, and every other line is left
/// to ArgumentParser.
@Suite struct ExecCommandLineTests {
    /// What ArgumentParser makes of `line`: the `exec` options, or nil when the line is not an
    /// `exec` or does not parse.
    static func parsedByArgumentParser(_ line: [String]) -> ExecCommandLine? {
        guard let exec = (try? AgentMemoryCommand.parseAsRoot(line)) as? Exec else { return nil }
        let global = exec.global
        return ExecCommandLine(
            store: global.store, namespace: global.namespace, agent: global.agent, tools: exec.tools,
            readOnly: exec.readOnly, pretty: exec.pretty)
    }

    @Test func plainLinesAreReadAsArgumentParserReadsThem() throws {
        let lines: [[String]] = [
            ["exec"],
            ["exec", "--store", "sqlite:/tmp/a b/memory.sqlite", "--namespace", "team/alpha"],
            ["exec", "--store=postgres://u:p=q@127.0.0.1:5432/db", "--pretty", "--read-only"],
            ["exec", "--namespace=ns", "--agent", "planner", "--tools", "recall,remember"],
            ["exec", "--tools=all", "--agent=é-agent", "--store", "memory:"],
            ["exec", "--pretty", "--namespace", "=starts-with-equals"],
        ]
        for line in lines {
            let quick = try #require(ExecCommandLine(line), "\(line)")
            #expect(quick == Self.parsedByArgumentParser(line), "\(line)")
        }
        #expect(ExecCommandLine(lines[1]) == ExecCommandLine(store: "sqlite:/tmp/a b/memory.sqlite", namespace: "team/alpha"))
        #expect(ExecCommandLine(lines[2]) == ExecCommandLine(store: "postgres://u:p=q@127.0.0.1:5432/db", readOnly: true, pretty: true))
    }

    @Test func everyOtherLineIsLeftToArgumentParser() {
        let declined: [[String]] = [
            [],
            ["recall", "k"],
            ["--store", "memory:", "exec"],  // an option before the subcommand
            ["exec", "--help"], ["exec", "-h"], ["exec", "help"], ["exec", "--version"],
            ["exec", "--generate-completion-script", "bash"], ["exec", "--generate-completion-script"],
            ["exec", "--namespace", "a", "--namespace", "b"],  // repeated
            ["exec", "--pretty", "--pretty"],
            ["exec", "--namespace"],  // no value
            ["exec", "--namespace", "--pretty"],  // a value that is an option
            ["exec", "--namespace", "-x"],
            ["exec", "--store="],  // an empty value
            ["exec", "--pretty=yes"],
            ["exec", "--", "--pretty"],
            ["exec", "extra"],
            ["exec", "--bogus"],
        ]
        for line in declined {
            #expect(ExecCommandLine(line) == nil, "\(line)")
        }
    }

    /// Random lines of `exec` options in random order and both spellings, with values drawn
    /// from a set that includes `=`, spaces and non-ASCII text: whenever the quick path reads
    /// one, ArgumentParser reads the same, and the quick path reads every line without repeats
    /// or dashed values.
    @Test func randomLinesAgree() throws {
        var generator = SystemRandomNumberGenerator()
        let values = ["memory:", "sqlite:/tmp/x.sqlite", "a=b", "two words", "ünï", "recall", "exec", "-dash", "--store"]
        let valued = ["--store", "--namespace", "--agent", "--tools"]
        let flags = ["--read-only", "--pretty"]
        var read = 0
        for _ in 0..<400 {
            var line = ["exec"]
            var clean = true
            var used: Set<String> = []
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                if Bool.random(using: &generator) {
                    let flag = flags.randomElement(using: &generator)!
                    clean = clean && used.insert(flag).inserted
                    line.append(flag)
                } else {
                    let name = valued.randomElement(using: &generator)!
                    let value = values.randomElement(using: &generator)!
                    clean = clean && used.insert(name).inserted && !value.hasPrefix("-")
                    if Bool.random(using: &generator) {
                        line.append("\(name)=\(value)")
                    } else {
                        line += [name, value]
                    }
                }
            }
            let quick = ExecCommandLine(line)
            #expect((quick != nil) == clean, "\(line)")
            if let quick {
                read += 1
                #expect(quick == Self.parsedByArgumentParser(line), "\(line)")
            }
        }
        #expect(read > 50)
    }
}

// reliability-child: the writer that the crash-safety, contention and resource tests run as
// a separate process (and kill with SIGKILL at random moments). Every write it prints as
// "ack ..." on stdout has returned from the store, so the parent may demand to find it.
//
//   reliability-child puts      STORE NS PREFIX COUNT        single puts; "ack KEY"
//   reliability-child turns     STORE NS FIRST COUNT CALLS   COUNT executor turns of CALLS remember calls
//                                                            (keys t<turn>-<call>); "ack TURN"
//   reliability-child appends   STORE NS KEY FIRST COUNT     appends FIRST..; "ack N"
//   reliability-child renames   STORE NS FILES COUNT         memory-tool renames /memories/d<j> -> d<j+1>
//                                                            (creates d0 with FILES files first); "ack J"
//   reliability-child session   STORE NS ID TURNS            an agent loop (scripted server in this
//                                                            process) of TURNS tool turns; "ack MESSAGES"
//   reliability-child increment STORE NS KEY COUNT PREFIX    puts PREFIX<n>, then a compare-and-set
//                                                            increment of KEY, retrying conflicts and
//                                                            lost connections; "ack N" (or "doubt ...")
//   reliability-child memory    STORE NS COUNT               COUNT executor calls in a loop, then prints
//                                                            "rss KB" every COUNT/10 calls
//   reliability-child watch     STORE NS EVENTS INTERVAL_MS  a writer makes EVENTS changes while a watcher
//                                                            polling every INTERVAL_MS reads them; prints
//                                                            "rss EVENTS KB" every EVENTS/10 events seen
//   reliability-child timeout   STORE NS                     holds Dispatch's global queue busy for 6 s
//                                                            (its threads blocked) while the client asks
//                                                            a scripted server in this process whose first
//                                                            answer comes 4 s late, with a 1 s timeout;
//                                                            "answer TEXT after N requests"
//   reliability-child crash     STORE NS MODE                holds ANTHROPIC_API_KEY, logs at trace level
//                                                            to stderr, gets an error that echoes the key,
//                                                            then ends by MODE: fatal, precondition,
//                                                            abort, signal (a write to address 8) or uncaught
import AgentLoop
import AgentMemory
import AgentMemoryRuntime
import AgentMemoryTesting
import ClaudeClient
import Foundation
import Logging

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("reliability-child: \(message)\n".utf8))
    exit(2)
}

/// With RELIABILITY_TRACE set, says on stderr what the child is about to do (to find a hang).
func trace(_ step: String) {
    if ProcessInfo.processInfo.environment["RELIABILITY_TRACE"] != nil {
        FileHandle.standardError.write(Data("trace: \(step)\n".utf8))
    }
}

/// Writes one line to stdout at once (no buffering: the parent may kill us right after).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

// As the `agent-memory` command does, so that the crash and contention tests run SQLite as it does.
SQLiteMemoryStore.useMultiThreadSQLite()
let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 3 else { fail("usage: reliability-child COMMAND STORE NAMESPACE ARGUMENTS...") }
let command = arguments[0]
let store: any MemoryStore
let namespace: Namespace
do {
    // RELIABILITY_SYNCHRONOUS=normal: an SQLite store at `synchronous = NORMAL`.
    let normal = ProcessInfo.processInfo.environment["RELIABILITY_SYNCHRONOUS"] == "normal"
    store = try StoreLocation(parsing: arguments[1]).open(synchronous: normal ? .normal : .full)
    namespace = try Namespace(arguments[2])
} catch {
    fail("\(error)")
}
let rest = Array(arguments.dropFirst(3))
let agent = "child-\(ProcessInfo.processInfo.processIdentifier)"

func integer(_ index: Int) -> Int {
    guard index < rest.count, let value = Int(rest[index]) else { fail("argument \(index + 4) must be an integer") }
    return value
}

func string(_ index: Int) -> String {
    guard index < rest.count else { fail("missing argument \(index + 4)") }
    return rest[index]
}

/// Runs a child command; every error but the expected ones ends the process with status 2.
func main() async throws {
    switch command {
    case "puts":
        let prefix = string(0)
        for index in 0..<integer(1) {
            try await store.put("\(prefix)\(index)", value: .string("value-\(index)"), in: namespace, options: PutOptions(author: agent))
            say("ack \(prefix)\(index)")
        }
    case "turns":
        let executor = MemoryToolExecutor(store: store, namespace: namespace, agent: agent)
        let first = integer(0), calls = integer(2)
        for turn in first..<(first + integer(1)) {
            let uses = (0..<calls).map { call in
                ToolUse(id: "toolu_\(turn)_\(call)", name: "remember", input: ["key": .string("t\(turn)-\(call)"), "value": .string("turn \(turn)")])
            }
            let results = await executor.execute(uses)
            guard results.allSatisfy({ $0.toolResult?.isError == false }) else { fail("turn \(turn) failed: \(results)") }
            say("ack \(turn)")
        }
    case "appends":
        let key = string(0), first = integer(1)
        for index in first..<(first + integer(2)) {
            try await store.append(key, value: .int(index), in: namespace, options: AppendOptions(author: agent))
            say("ack \(index)")
        }
    case "renames":
        try await renames(files: integer(0), count: integer(1))
    case "session":
        try await session(id: string(0), turns: integer(1))
    case "increment":
        try await increment(key: string(0), count: integer(1), prefix: string(2))
    case "memory":
        try await memoryRun(count: integer(0))
    case "watch":
        try await watchRun(events: integer(0), interval: integer(1))
    default:
        fail("unknown command \(command)")
    }
}

/// Renames the one directory `/memories/d<j>` to `d<j+1>`, `count` times, starting from
/// whichever `d<j>` exists (creating `d0` with `files` files when none does).
func renames(files: Int, count: Int) async throws {
    let tool = BuiltinMemoryTool(store: store, namespace: namespace, author: agent)
    let directories = try await store.allRecords(in: namespace, prefix: "/memories/d").compactMap { record -> Int? in
        let rest = record.key.dropFirst("/memories/d".count)
        return Int(rest.prefix { $0 != "/" })
    }
    var current: Int
    if let existing = Set(directories).max() {
        current = existing
    } else {
        for file in 0..<files {
            let result = await tool.run(["command": "create", "path": .string("/memories/d0/f\(file).txt"), "file_text": .string("file \(file)\n")])
            if result.isError { fail("create: \(result.text)") }
        }
        current = 0
        say("ready")
    }
    for _ in 0..<count {
        let result = await tool.run([
            "command": "rename", "old_path": .string("/memories/d\(current)"), "new_path": .string("/memories/d\(current + 1)"),
        ])
        if result.isError { fail("rename d\(current): \(result.text)") }
        current += 1
        say("ack \(current)")
    }
}

/// Runs an agent loop whose scripted model asks for `turns` turns of three `remember` calls,
/// saving the session after every step; prints the saved message count after each turn.
func session(id: String, turns: Int) async throws {
    let server = try ScriptedMessagesServer()
    defer { server.stop() }
    for turn in 0..<turns {
        let calls = (0..<3).map { call in
            ContentBlock.toolUse(id: "toolu_\(turn)_\(call)", name: "remember", input: ["key": .string("\(id)-\(turn)-\(call)"), "value": "v"])
        }
        server.enqueue(.message(MessageResponse(id: "msg_\(turn)", model: "claude-test", content: [.text("Turn \(turn).")] + calls, stopReason: .toolUse, usage: Usage(inputTokens: 10, outputTokens: 5))))
    }
    server.enqueue(.message(MessageResponse(id: "msg_end", model: "claude-test", content: [.text("Done.")], stopReason: .endTurn, usage: Usage(inputTokens: 10, outputTokens: 5))))
    let client = ClaudeClient(configuration: ClaudeConfiguration(apiKey: "sk-child", baseURL: server.baseURL, maxRetries: 0))
    let executor = MemoryToolExecutor(store: store, namespace: namespace, agent: agent)
    let sessions = MemoryStoreSessionStore(store: store, namespace: namespace, author: agent)
    let agentSession = try await AgentSession.open(id: id, store: sessions)
    let hooks = AgentHooks(didRunTool: nil, didReceiveTurn: { _ in
        say("ack \(await agentSession.messages.count)")
    })
    let loop = AgentLoop(client: client, executor: executor, configuration: AgentConfiguration(model: "claude-test", maxIterations: turns + 2, streaming: false), hooks: hooks)
    _ = try await loop.run("Remember things.", in: agentSession)
    say("ack \(await agentSession.messages.count)")
}

/// `count` rounds of a put of a key of our own and a compare-and-set increment of the shared
/// `key`; a conflict is retried, and so is a store error
/// (a killed connection, a restarted server), after which the outcome of that attempt is
/// unknown: printed as "doubt" so the parent can bound the final value.
func increment(key: String, count: Int, prefix: String) async throws {
    var done = 0
    while done < count {
        do {
            trace("put \(prefix)\(done)")
            try await store.put("\(prefix)\(done)", value: .int(done), in: namespace, options: PutOptions(author: agent))
            trace("get \(key)")
            let current = try await store.get(key, in: namespace)
            trace("compare-and-set \(key)")
            try await store.put(
                key, value: .int((current?.value.intValue ?? 0) + 1), in: namespace,
                options: PutOptions(ifVersion: current?.version ?? 0, author: agent))
            say("ack \(done)")
            done += 1
        } catch let error as MemoryError where error.code == .versionConflict {
            continue
        } catch {
            say("doubt \(String(describing: error).replacingOccurrences(of: "\n", with: " "))")
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Resident memory from /proc/self/status, in kilobytes.
func residentKilobytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return -1 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
}

/// `count` tool calls (remember, recall, list, search, forget over 100 keys), printing the
/// resident memory every tenth of the run.
func memoryRun(count: Int) async throws {
    let executor = MemoryToolExecutor(store: store, namespace: namespace, agent: agent, tools: MemoryToolKind.allCases)
    let step = max(1, count / 10)
    for index in 0..<count {
        let key = JSONValue.string("k\(index % 100)")
        let call: ToolUse
        switch index % 5 {
        case 0: call = ToolUse(id: "t\(index)", name: "remember", input: ["key": key, "value": .string("value \(index)")])
        case 1: call = ToolUse(id: "t\(index)", name: "recall", input: ["key": key])
        case 2: call = ToolUse(id: "t\(index)", name: "list_memory", input: ["limit": 20])
        case 3: call = ToolUse(id: "t\(index)", name: "search_memory", input: ["query": "value"])
        default: call = ToolUse(id: "t\(index)", name: "forget", input: ["key": key])
        }
        _ = await executor.execute(call)
        if (index + 1) % step == 0 { say("rss \(index + 1) \(residentKilobytes())") }
    }
}

/// Makes a Messages API call with the key from ANTHROPIC_API_KEY against a scripted server
/// that echoes the key in every field of its errors, logs everything at trace level to stderr,
/// prints the error and the client every way a program might, then ends as `mode` says.
func crash(mode: String) async throws {
    let key = ProcessInfo.processInfo.environment["ANTHROPIC_API_KEY"] ?? ""
    var logger = Logger(label: "reliability-child") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .trace
    let server = try ScriptedMessagesServer()
    defer { server.stop() }
    let echo = Array("{\"type\":\"error\",\"error\":{\"type\":\"\(key)\",\"message\":\"bad key \(key)\"}}".utf8)
    server.enqueue(.raw(status: 529, headers: [("request-id", "req_\(key)"), ("retry-after-ms", "1")], body: echo))
    server.enqueue(.raw(status: 401, headers: [("request-id", "req_\(key)"), ("x-echo", key)], body: echo))
    var configuration = try ClaudeConfiguration.fromEnvironment()
    configuration.baseURL = server.baseURL
    configuration.maxRetries = 1
    let client = ClaudeClient(configuration: configuration, logger: logger)
    let request = MessageRequest(model: "claude-test", maxTokens: 16, messages: [.user("Hello")])
    do {
        _ = try await client.createMessage(request)
        fail("the scripted server's errors did not reach the client")
    } catch {
        logger.error("request failed", metadata: ["error": "\(error)", "configuration": "\(configuration)"])
        var dumped = ""
        dump(error, to: &dumped)
        dump(configuration, to: &dumped)
        FileHandle.standardError.write(Data("error: \(error)\ndebug: \(String(reflecting: error))\n\(dumped)".utf8))
        say("client: \(String(reflecting: configuration))")
        switch mode {
        case "fatal": fatalError("the request failed: \(error) (configuration \(configuration))")
        case "precondition": preconditionFailure(String(reflecting: error) + " " + String(reflecting: configuration))
        case "abort": abort()
        case "signal": UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1  // a real segmentation fault
        case "uncaught": throw error
        default: fail("unknown crash mode \(mode)")
        }
    }
    fail("crash mode \(mode) did not end the process")
}

/// A request whose first answer comes 4 s late, with a 1 s timeout, while every thread that
/// Dispatch's global queue has (and the ones it adds) is blocked until 6 s: in a process that
/// keeps that queue busy the timeout must still fire on time, so that the client retries and
/// gets the second answer. Run as a child process: a starved global queue also stalls Swift's
/// tasks, which would stall every other test of the parent.
func timeoutWhileTheGlobalQueueIsBusy() async throws {
    let server = try ScriptedMessagesServer()
    defer { server.stop() }
    func answer(_ text: String) -> MessageResponse {
        MessageResponse(
            id: "msg_\(text.count)", model: "claude-test", content: [.text(text)], stopReason: .endTurn,
            usage: Usage(inputTokens: 1, outputTokens: 1))
    }
    server.enqueue(ScriptedResponse.message(answer("late")).delayed(by: .seconds(4)), .message(answer("in time")))
    let release = DispatchSemaphore(value: 0)
    let blockers = 64
    for _ in 0..<blockers { DispatchQueue.global().async { release.wait() } }
    // Released from a queue of its own, which the blocked global queue cannot hold up.
    DispatchQueue(label: "reliability-child.release").asyncAfter(deadline: .now() + 6) {
        for _ in 0..<blockers { release.signal() }
    }
    var configuration = ClaudeConfiguration(apiKey: "sk-test")
    configuration.baseURL = server.baseURL
    configuration.timeout = .seconds(1)
    configuration.maxRetries = 2
    let client = ClaudeClient(configuration: configuration)
    let response = try await client.createMessage(MessageRequest(model: "claude-test", maxTokens: 16, messages: [.user("Hello")]))
    say("answer \(response.text) after \(server.requests.count) requests")
}

if command == "timeout" {
    do {
        try await timeoutWhileTheGlobalQueueIsBusy()
    } catch {
        fail("\(error)")
    }
} else if command == "crash" {
    // An error thrown from here is not caught: Swift ends the process and prints it.
    try await crash(mode: string(0))
} else {
    do {
        try await main()
    } catch {
        fail("\(error)")
    }
}

/// A writer makes `events` changes (batches of ten puts over 100 keys, as fast as the store
/// takes them: a day of one change a second, compressed) while a watcher polling every
/// `interval` ms reads them; prints the resident memory every tenth of the events seen.
func watchRun(events: Int, interval: Int) async throws {
    let step = max(1, events / 10)
    let writer = Task {
        var written = 0
        while written < events {
            let count = min(10, events - written)
            let operations = (written..<(written + count)).map { index in
                MemoryOperation.put(key: MemoryKey(checked: "k\(index % 100)"), value: .string("change \(index)"))
            }
            try await store.batch(operations, in: namespace)
            written += count
        }
    }
    var seen = 0
    var last: Int64 = 0
    for try await change in store.pollChanges(in: namespace, since: 0, interval: .milliseconds(interval)) {
        guard change.sequence > last else { fail("change \(change.sequence) after \(last)") }
        last = change.sequence
        seen += 1
        if seen % step == 0 { say("rss \(seen) \(residentKilobytes())") }
        if seen == events { break }
    }
    try await writer.value
}

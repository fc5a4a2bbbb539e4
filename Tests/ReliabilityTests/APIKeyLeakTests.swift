import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemory
import AgentMemoryTesting
import ClaudeClient
import Foundation
import Testing
import TestScratch

@Suite("Security: the API key never leaks")
struct APIKeyLeakTests {
    @Test("not in the configuration's description, debug description or dump")
    func configuration() {
        let configuration = ClaudeConfiguration(apiKey: secretKey)
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [String(describing: configuration), String(reflecting: configuration), dumped, "\(configuration)"] {
            #expect(!text.contains(secretKey) && !text.contains("SECRET"), "\(text)")
        }
    }

    @Test("not in any error, even when every failing response echoes it", arguments: [400, 401, 429, 500, 529])
    func errors(status: Int) async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        for _ in 0..<3 {
            server.enqueue(.raw(
                status: status, headers: [("request-id", "req_\(secretKey)"), ("x-echo", secretKey)],
                body: Array("{\"type\":\"error\",\"error\":{\"type\":\"\(secretKey)\",\"message\":\"bad key \(secretKey)\"}}".utf8)))
        }
        let error = await #expect(throws: ClaudeAPIError.self) { try await faultClient(server).createMessage(faultRequest) }
        var dumped = ""
        dump(error, to: &dumped)
        for text in [String(describing: error), String(reflecting: error), dumped, error?.message ?? "", error?.errorType ?? "", error?.requestID ?? ""] {
            #expect(!text.contains(secretKey), "\(text)")
        }
    }

    @Test("not in a saved session transcript or any stored record, even when the model repeats it")
    func transcript() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let store = InMemoryMemoryStore()
        let namespace = try Namespace("leak")
        server.enqueue(.message(reply("Hello.")))
        let loop = AgentLoop(
            client: faultClient(server), executor: MemoryToolExecutor(store: store, namespace: namespace),
            configuration: AgentConfiguration(model: "claude-test", streaming: false))
        let session = try await AgentSession.open(id: "leak", store: MemoryStoreSessionStore(store: store, namespace: namespace))
        _ = try await loop.run("What is my key?", in: session)
        for record in try await store.allRecords(in: namespace) {
            #expect(!record.value.jsonString().contains(secretKey), "\(record.key)")
        }
        // The key went only in the x-api-key header, never in a body.
        #expect(server.requests.allSatisfy { !$0.bodyText.contains(secretKey) && $0.headers["x-api-key"] == secretKey })
    }

    /// The ways a process holding the key can crash: `fatalError` and `preconditionFailure` with
    /// the error and configuration in their message, `abort()` (SIGABRT), a segmentation fault
    /// (a write to address 8: SIGSEGV, with the runtime's backtrace) and an error thrown out of the top level.
    static let crashModes = ["fatal", "precondition", "abort", "signal", "uncaught"]

    /// For a child built with AddressSanitizer (other builds ignore `ASAN_OPTIONS`). On a crash
    /// the Swift runtime starts `swift-backtrace`, which reads the crashed process's memory
    /// through a thread of it (`memserver_read` in the runtime's CrashHandlerLinux.cpp), stack
    /// redzones included: ASan reported that read as a stack-buffer-underflow and aborted the
    /// child, and `swift-backtrace` then waited for ever, holding the descriptors it inherited,
    /// among them the socket by which Foundation's `Process` learns of the exit, so the child
    /// stayed a zombie and `isRunning` true (the whole-suite ASan run hung on it). That read is
    /// suppressed, and ASan leaves SIGSEGV to the runtime's handler, so every mode crashes as it
    /// does without ASan: by its signal, with the runtime's backtrace.
    static let crashSanitizerEnvironment: [String: String] = {
        let suppressions = Scratch.directory("crash-asan").appendingPathComponent("asan.supp")
        guard (try? Data("interceptor_via_fun:*memserver_read*\n".utf8).write(to: suppressions)) != nil else { return [:] }
        let inherited = ProcessInfo.processInfo.environment["ASAN_OPTIONS"] ?? ""
        return ["ASAN_OPTIONS": "\(inherited) suppressions=\(suppressions.path) handle_segv=0"]
    }()

    @Test("not in the output of a crashing process that holds it and logs at trace level", arguments: crashModes)
    func crashOutput(mode: String) async throws {
        let key = "sk-ant-api03-crash-\(UUID().uuidString)-secret"
        let child = try Child.start(
            ["crash", "memory:", "leak", mode], environment: Self.crashSanitizerEnvironment.merging(["ANTHROPIC_API_KEY": key, "ANTHROPIC_BASE_URL": ""]) { $1 })
        try await child.wait()
        defer { child.removeOutput() }
        let output = ((try? String(contentsOf: child.stdout, encoding: .utf8)) ?? "") + child.errors
        // It did crash, after the failing request and the printing (so there was output to leak into).
        // Under a sanitizer (scripts/reliability/sanitizers.sh) the sanitizer's own handler takes
        // the segmentation fault, prints its report and exits with its exit code instead.
        let sanitizerExit = child.process.terminationReason == .exit && child.process.terminationStatus != 0
            && child.errors.contains("Sanitizer:DEADLYSIGNAL")
        #expect(child.process.terminationReason == .uncaughtSignal || sanitizerExit, "\(mode): status \(child.process.terminationStatus): \(child.errors)")
        #expect(output.contains("client: ") && output.contains("debug: "), "\(mode): \(output)")
        #expect(child.errors.contains("request failed"), "\(mode): the trace-level log is missing: \(child.errors)")
        // Neither the key nor any long piece of it (a prefix or suffix shown as a hint).
        let secretPart = String(key.dropFirst("sk-ant-api03-".count))
        for piece in [key, secretPart, String(secretPart.prefix(12)), String(secretPart.suffix(12))] {
            #expect(!output.contains(piece), "\(mode): the output contains \(piece): \(output)")
        }
    }
}

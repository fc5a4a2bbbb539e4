import ClaudeMessages
import ClaudeClient
import AgentLoop
import AgentMemory
import AgentMemoryRuntime
import Foundation
import Testing

/// Flags beat the environment, the environment beats the defaults, and every bad value is an
/// error that says what to do.
@Suite("RuntimeSettings")
struct RuntimeSettingsTests {
    @Test func theStoreComesFromTheFlagThenTheEnvironmentThenTheDefaultFile() throws {
        let environment = ["AGENT_MEMORY_STORE": "sqlite:/tmp/from-env.sqlite", "AGENT_MEMORY_HOME": "/tmp/home"]
        #expect(try RuntimeSettings(store: "memory:", environment: environment).location() == .inMemory)
        #expect(try RuntimeSettings(environment: environment).location() == .sqlite(path: "/tmp/from-env.sqlite"))
        #expect(try RuntimeSettings(environment: ["AGENT_MEMORY_HOME": "/tmp/home"]).location() == .sqlite(path: "/tmp/home/memory.sqlite"))
        #expect(try RuntimeSettings(environment: ["HOME": "/users/ada"]).location() == .sqlite(path: "/users/ada/.agent-memory/memory.sqlite"))
        // An empty variable counts as unset.
        #expect(
            try RuntimeSettings(environment: ["AGENT_MEMORY_STORE": "", "AGENT_MEMORY_HOME": "/tmp/home"]).location()
                == .sqlite(path: "/tmp/home/memory.sqlite"))
    }

    @Test func whetherAStoreWasNamed() {
        #expect(RuntimeSettings(store: "memory:", environment: [:]).namesStore)
        #expect(RuntimeSettings(environment: ["AGENT_MEMORY_STORE": "memory:"]).namesStore)
        #expect(!RuntimeSettings(environment: ["AGENT_MEMORY_STORE": ""]).namesStore)
        #expect(!RuntimeSettings(environment: ["AGENT_MEMORY_HOME": "/tmp/home"]).namesStore)
    }

    @Test func theNamespaceAgentAndModelFollowTheSameOrder() throws {
        let environment = [
            "AGENT_MEMORY_NAMESPACE": "env-space", "AGENT_MEMORY_AGENT": "env-agent", "AGENT_MEMORY_MODEL": "env-model",
        ]
        let flags = RuntimeSettings(namespace: "flag-space", agent: "flag-agent", environment: environment)
        #expect(try flags.resolvedNamespace().name == "flag-space")
        #expect(flags.resolvedAgent == "flag-agent")
        #expect(flags.model("flag-model") == "flag-model")
        let fromEnvironment = RuntimeSettings(environment: environment)
        #expect(try fromEnvironment.resolvedNamespace().name == "env-space")
        #expect(fromEnvironment.resolvedAgent == "env-agent")
        #expect(fromEnvironment.model() == "env-model")
        let defaults = RuntimeSettings(environment: ["AGENT_MEMORY_NAMESPACE": "", "AGENT_MEMORY_AGENT": "", "AGENT_MEMORY_MODEL": ""])
        #expect(try defaults.resolvedNamespace().name == "default")
        #expect(defaults.resolvedAgent == nil)
        #expect(defaults.model() == AgentConfiguration.defaultModel)
    }

    /// An agent id with a control character is a configuration error naming where it came from.
    @Test func anAgentIDWithAControlCharacterIsAnError() throws {
        #expect(try RuntimeSettings(agent: "Zoë 🧠", environment: [:]).agentID() == "Zoë 🧠")
        #expect(try RuntimeSettings(environment: [:]).agentID() == nil)
        let fromEnvironment = RuntimeSettings(environment: ["AGENT_MEMORY_AGENT": "tab\there"])
        let error = try #require(throws: RuntimeError.self) { try fromEnvironment.agentID() }
        #expect(error.kind == .invalidConfiguration)
        #expect(error.message == "Invalid agent id: an agent id must not contain control characters (found U+0009) (from AGENT_MEMORY_AGENT)")
    }

    @Test(arguments: [
        (
            RuntimeSettings(store: "ftp://example", environment: [:]),
            "Invalid store \"ftp://example\": unknown scheme; use sqlite:PATH (an SQLite file), "
                + "postgres://USER[:PASSWORD]@HOST:PORT/DB (a PostgreSQL database) or memory: (in this process only) (from --store)"
        ),
        (
            RuntimeSettings(environment: ["AGENT_MEMORY_STORE": "redis://agent:secret@cache/0"]),
            "Invalid store \"redis://agent:***@cache/0\": unknown scheme; use sqlite:PATH (an SQLite file), "
                + "postgres://USER[:PASSWORD]@HOST:PORT/DB (a PostgreSQL database) or memory: (in this process only) "
                + "(from AGENT_MEMORY_STORE)"
        ),
        (
            RuntimeSettings(store: "sqlite:", environment: [:]),
            "Invalid store \"sqlite:\": sqlite: needs a file path, e.g. sqlite:./memory.sqlite (from --store)"
        ),
    ])
    func aBadStoreSaysWhichFormsWork(settings: RuntimeSettings, message: String) {
        #expect(throws: RuntimeError(.invalidConfiguration, message)) { try settings.location() }
        #expect(throws: RuntimeError(.invalidConfiguration, message)) { try settings.openStore() }
    }

    @Test func aBadNamespaceStatesTheRule() {
        let rule = "a namespace is 1 to 128 characters from A-Z a-z 0-9 _ . : - and starts with a letter or digit"
        #expect(throws: RuntimeError(.invalidConfiguration, "Invalid namespace \"no spaces\": \(rule)")) {
            try RuntimeSettings(namespace: "no spaces", environment: [:]).resolvedNamespace()
        }
        #expect(throws: RuntimeError(.invalidConfiguration, "Invalid namespace \"-dash\": \(rule)")) {
            try RuntimeSettings(environment: ["AGENT_MEMORY_NAMESPACE": "-dash"]).resolvedNamespace()
        }
    }

    @Test func aStoreThatCannotBeOpenedIsUnavailableNotAConfigurationError() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("runtime-\(UUID().uuidString)")
        try Data("not a folder".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let path = file.appendingPathComponent("memory.sqlite").path
        let error = #expect(throws: RuntimeError.self) { try RuntimeSettings(store: "sqlite:\(path)", environment: [:]).openStore() }
        #expect(error?.kind == .unavailable)
        #expect(error?.message.hasPrefix("Cannot open the SQLite store at \(path): ") == true)
    }

    @Test func withStoreOpensTheNamedStoreAndReturnsTheBodysResult() async throws {
        let settings = RuntimeSettings(store: "memory:", namespace: "team", environment: [:])
        let namespace = try settings.resolvedNamespace()
        let version = try await settings.withStore { store in
            try await store.put("k", value: "v", in: namespace).version
        }
        #expect(version == 1)
        await #expect(throws: MemoryError.self) {
            try await settings.withStore { store in try await store.put("", value: "v", in: namespace) }
        }
    }
}

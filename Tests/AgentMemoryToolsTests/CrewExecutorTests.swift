import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing

@Suite("Executor in a crew")
struct CrewExecutorTests {
    let team = try! Namespace("team")

    func executor(_ store: any MemoryStore, _ agent: String, _ access: MemoryAccess = .readWrite, tools: [MemoryToolKind] = MemoryToolKind.everyTool) -> MemoryToolExecutor {
        MemoryToolExecutor(store: store, namespace: team, policy: AccessPolicy(agent: agent, grants: [team: access]), tools: tools)
    }

    @Test func rememberSaysWhenAColleagueWroteTheKeySinceItWasRead() async throws {
        let clock = ManualClockForTools()
        let store = InMemoryMemoryStore(clock: clock.function)
        let alice = executor(store, "alice")
        let bob = executor(store, "bob")
        #expect(await alice.run(name: "remember", input: ["key": "plan", "value": "A"]).text == "Remembered \"plan\" (version 1).")
        #expect(await bob.run(name: "recall", input: ["key": "plan"]).text == "A")
        // Bob read version 1 and writes on top of it: no warning.
        #expect(await bob.run(name: "remember", input: ["key": "plan", "value": "B"]).text == "Updated \"plan\" (version 2).")
        // Alice last saw version 1 (her own write); Bob wrote version 2 since.
        #expect(await alice.run(name: "remember", input: ["key": "plan", "value": "C"]).text
            == "Updated \"plan\" (version 3). Note: \"bob\" wrote this key (version 2, 2027-01-15 08:00 UTC) after you last read it; your write replaced that value. Recall shared keys before updating them, or use mode \"append\".")
        // A key never read by this agent.
        let carol = executor(store, "carol")
        #expect(await carol.run(name: "remember", input: ["key": "plan", "value": "D"]).text.contains("Note: \"alice\" wrote this key (version 3, 2027-01-15 08:00 UTC) and you had not read it"))
        // Its own earlier write is not a colleague's.
        #expect(await carol.run(name: "remember", input: ["key": "plan", "value": "E"]).text == "Updated \"plan\" (version 5).")
        // recall still returns exactly the value.
        #expect(await alice.run(name: "recall", input: ["key": "plan"]).text == "E")
        #expect(try await store.get("plan", in: team)?.author == "carol")
    }

    @Test func appendModeAddsToASharedList() async throws {
        let store = InMemoryMemoryStore()
        let alice = executor(store, "alice")
        let bob = executor(store, "bob")
        #expect(await alice.run(name: "remember", input: ["key": "todo", "value": "one", "mode": "append"]).text == "Appended to \"todo\" (version 1); the list has 1 item.")
        #expect(await bob.run(name: "remember", input: ["key": "todo", "value": "two", "mode": "append"]).text == "Appended to \"todo\" (version 2); the list has 2 items.")
        #expect(await bob.run(name: "recall", input: ["key": "todo"]).text == #"["one","two"]"#)
        _ = await alice.run(name: "remember", input: ["key": "log", "value": "started"])
        #expect(await bob.run(name: "remember", input: ["key": "log", "value": "done", "mode": "append"]).text == "Appended to \"log\" (version 2).")
        #expect(await bob.run(name: "recall", input: ["key": "log"]).text == "started\ndone")
        let bad = await bob.run(name: "remember", input: ["key": "log", "value": "x", "mode": "merge"])
        #expect(bad.isError)
        #expect(bad.text == "Invalid input for remember: field \"mode\" must be \"replace\" or \"append\", got \"merge\"")
        let ttl = await bob.run(name: "remember", input: ["key": "log", "value": "x", "mode": "append", "ttl_seconds": 5])
        #expect(ttl == MemoryToolExecutor.Outcome(text: "Invalid input for remember: field \"ttl_seconds\" cannot be used with mode \"append\" (the key keeps its own expiry)", isError: true))
        #expect(try await store.changes(in: team, since: 0, limit: 10).map(\.author) == ["alice", "bob", "alice", "bob"])
    }

    @Test func listMemoryShowsAuthorsOnlyWhenSeveralAgentsWrote() async throws {
        let clock = ManualClockForTools()
        let store = InMemoryMemoryStore(clock: clock.function)
        let alice = executor(store, "alice")
        _ = await alice.run(name: "remember", input: ["key": "a", "value": "1"])
        #expect(await alice.run(name: "list_memory", input: [:]).text == "a: 1")
        _ = await executor(store, "bob").run(name: "remember", input: ["key": "b", "value": "2"])
        #expect(await alice.run(name: "list_memory", input: [:]).text == "a: 1 (by alice, 2027-01-15 08:00 UTC)\nb: 2 (by bob, 2027-01-15 08:00 UTC)")
    }

    @Test func policiesRefuseWritesWhereTheAgentMayOnlyRead() async throws {
        let store = InMemoryMemoryStore()
        let own = try Namespace("reviewer")
        let policy = AccessPolicy(agent: "reviewer", grants: [own: .readWrite, team: .readOnly])
        try await store.put("goal", value: "ship", in: team)
        let shared = MemoryToolExecutor(store: store, namespace: team, policy: policy)
        let mine = MemoryToolExecutor(store: store, namespace: own, policy: policy)
        #expect(await shared.run(name: "recall", input: ["key": "goal"]).text == "ship")
        #expect(await shared.run(name: "remember", input: ["key": "goal", "value": "x"]) == .init(text: "remember is not allowed: this agent has read-only access to namespace \"team\"", isError: true))
        #expect(await mine.run(name: "remember", input: ["key": "note", "value": "x"]).isError == false)
        // The store facade enforces the same policy for code that bypasses the tools.
        let guarded = PolicyEnforcedStore(store, policy: policy)
        let refused = await #expect(throws: MemoryError.self) { try await guarded.put("goal", value: "x", in: team) }
        #expect(refused?.code == .readOnly)
        #expect(refused?.message == "Agent \"reviewer\" has read-only access to namespace \"team\"; writes are refused")
        let elsewhere = await #expect(throws: MemoryError.self) { try await guarded.get("goal", in: try Namespace("secret")) }
        #expect(elsewhere?.code == .accessDenied)
        let written = try await guarded.put("note2", value: "y", in: own, options: PutOptions(author: "spoofed"))
        #expect(written.author == "reviewer")
        #expect(try await guarded.namespaces().map(\.namespace) == [own, team])
        #expect(try await store.get("goal", in: team)?.value == "ship")
        // And the facade.
        let readOnly = try await Memory("team", store: store, agent: "reviewer", access: .readOnly)
        #expect(try await readOnly.get("goal", as: String.self) == "ship")
        await #expect(throws: MemoryError.self) { try await readOnly.set("goal", "nope") }
    }
}

/// A fixed clock for the tool tests (2027-01-15 08:00 UTC).
final class ManualClockForTools: Sendable {
    let function: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_800_000_000) }
}

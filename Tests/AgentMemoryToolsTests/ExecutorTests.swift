import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing

/// Runs calls through an executor and reads back (text, isError) per call.
struct Harness {
    let store: InMemoryMemoryStore
    let executor: MemoryToolExecutor
    let namespace = try! Namespace("agent")

    init(
        tools: [MemoryToolKind] = MemoryToolKind.everyTool, access: MemoryAccess = .readWrite,
        limits: MemoryLimits = .default, customTools: [CustomTool] = [], store: InMemoryMemoryStore? = nil
    ) {
        let store = store ?? InMemoryMemoryStore(limits: limits)
        self.store = store
        executor = MemoryToolExecutor(
            store: store, namespace: try! Namespace("agent"), agent: "agent-7", tools: tools, access: access,
            customTools: customTools)
    }

    func call(_ name: String, _ input: JSONValue) async -> (text: String, isError: Bool) {
        let block = await executor.execute(ToolUse(id: "toolu_1", name: name, input: input))
        let result = block.toolResult!
        #expect(result.toolUseID == "toolu_1")
        return (result.text, result.isError)
    }

    func snapshot() async throws -> [MemoryRecord] {
        try await store.allRecords(in: namespace) + store.allRecords(in: try Namespace("other"))
    }
}

@Suite("Memory tool executor")
struct ExecutorTests {
    @Test func rememberThenRecallReturnsExactlyTheValue() async throws {
        let harness = Harness()
        let value = "  Prefers \"dark\" mode\nand concise answers 🧠  "
        #expect(await harness.call("remember", ["key": "user.preferences", "value": .string(value)]) == ("Remembered \"user.preferences\" (version 1).", false))
        #expect(await harness.call("recall", ["key": "user.preferences"]) == (value, false))
        #expect(await harness.call("remember", ["key": "user.preferences", "value": "light"]) == ("Updated \"user.preferences\" (version 2).", false))
        #expect(await harness.call("recall", ["key": "user.preferences"]) == ("light", false))
        let record = try #require(try await harness.store.get("user.preferences", in: harness.namespace))
        #expect(record.author == "agent-7")
        #expect(record.value == "light")
    }

    @Test func rememberWithTTLSaysWhenItExpires() async throws {
        let harness = Harness()
        #expect(await harness.call("remember", ["key": "otp", "value": "123456", "ttl_seconds": 300]) == ("Remembered \"otp\" (version 1). It expires in 300 seconds.", false))
        let record = try #require(try await harness.store.get("otp", in: harness.namespace))
        let expiresIn = try #require(record.expiresAt).timeIntervalSince(record.updatedAt)
        #expect(abs(expiresIn - 300) < 0.01)
    }

    @Test func recallOfANonStringValueIsItsJSON() async throws {
        let harness = Harness()
        try await harness.store.put("settings", value: ["theme": "dark", "size": 14, "tags": ["a"]], in: harness.namespace)
        #expect(await harness.call("recall", ["key": "settings"]) == (#"{"theme":"dark","size":14,"tags":["a"]}"#, false))
    }

    @Test func recallMissSuggestsTheClosestKeys() async throws {
        let harness = Harness()
        #expect(await harness.call("recall", ["key": "user.name"]) == ("No memory is stored under \"user.name\". The memory is empty: nothing has been remembered yet.", false))
        for key in ["user.name.first", "user.nmae", "user.email", "project.deadline", "zzz", "user.names", "user.game"] {
            try await harness.store.put(key, value: "x", in: harness.namespace)
        }
        let miss = await harness.call("recall", ["key": "user.name"])
        #expect(miss.isError == false)
        #expect(miss.text == "No memory is stored under \"user.name\". Closest existing keys: \"user.name.first\", \"user.names\", \"user.game\", \"user.nmae\", \"user.email\". Call recall with one of them, or list_memory to see all keys.")
        #expect(await harness.call("recall", ["key": "qqqqqqqqqqqq"]) == ("No memory is stored under \"qqqqqqqqqqqq\", and no stored key is similar. Call list_memory to see the keys that exist.", false))
    }

    @Test func listMemoryPagesWithACursorAndPreviews() async throws {
        let harness = Harness()
        for index in 0..<5 {
            try await harness.store.put("note.\(index)", value: .string("text \(index)\nsecond line"), in: harness.namespace)
        }
        try await harness.store.put("long", value: .string(String(repeating: "a", count: 100)), in: harness.namespace)
        try await harness.store.put("json", value: [1, 2], in: harness.namespace)
        let first = await harness.call("list_memory", ["prefix": "note.", "limit": 2])
        #expect(first.isError == false)
        let lines = first.text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0] == "note.0: text 0 second line")
        #expect(lines[1] == "note.1: text 1 second line")
        let cursorLine = lines[2]
        #expect(cursorLine.hasPrefix("More keys remain: call list_memory with cursor \""))
        #expect(cursorLine.hasSuffix("\" and prefix \"note.\" to get the next page."))
        let cursor = String(cursorLine.split(separator: "\"")[1])
        let second = await harness.call("list_memory", ["prefix": "note.", "limit": 2, "cursor": .string(cursor)])
        #expect(second.text.hasPrefix("note.2: text 2 second line\nnote.3: text 3 second line\nMore keys remain"))
        let all = await harness.call("list_memory", [:])
        #expect(all.text == """
            json: [1,2]
            long: \(String(repeating: "a", count: 80))…
            note.0: text 0 second line
            note.1: text 1 second line
            note.2: text 2 second line
            note.3: text 3 second line
            note.4: text 4 second line
            """)
        #expect(await harness.call("list_memory", ["prefix": "zzz"]) == ("No keys start with \"zzz\".", false))
        #expect(await Harness().call("list_memory", [:]) == ("No memories are stored yet.", false))
    }

    @Test func reservedKeysAreInvisibleToTheModel() async throws {
        let harness = Harness()
        try await harness.store.put("a", value: "visible a", in: harness.namespace)
        for index in 0..<30 {
            try await harness.store.put("\(ReservedKeys.prefix)session/s1/\(index)", value: "secret transcript", in: harness.namespace)
        }
        try await harness.store.put("zeta", value: "visible zeta", in: harness.namespace)
        #expect(await harness.call("list_memory", ["limit": 2]).text == "a: visible a\nzeta: visible zeta")
        #expect(await harness.call("list_memory", ["limit": 1]).text.hasPrefix("a: visible a\nMore keys remain"))
        let firstPage = await harness.call("list_memory", ["limit": 1]).text
        let cursor = String(firstPage.split(separator: "\"")[1])
        #expect(await harness.call("list_memory", ["limit": 1, "cursor": .string(cursor)]).text == "zeta: visible zeta")
        #expect(await harness.call("search_memory", ["query": "secret transcript"]) == ("No memories match \"secret transcript\".", false))
        let recall = await harness.call("recall", ["key": .string(ReservedKeys.prefix + "session/s1/0")])
        #expect(recall == ("Invalid input for recall: keys starting with \"_agent_memory/\" are reserved for the library", true))
        let remember = await harness.call("remember", ["key": .string(ReservedKeys.prefix + "x"), "value": "v"])
        #expect(remember.isError)
    }

    @Test func aPageWithAReservedKeyInsideItListsEveryKeyOnce() async throws {
        let harness = Harness()
        for key in ["+", "\(ReservedKeys.prefix)x", "a", "b", "c"] {
            try await harness.store.put(key, value: "v", in: harness.namespace)
        }
        let first = await harness.call("list_memory", ["limit": 1]).text
        #expect(first.hasPrefix("+: v\nMore keys remain"))
        let cursor = String(first.split(separator: "\"")[1])
        let second = await harness.call("list_memory", ["limit": 2, "cursor": .string(cursor)]).text
        #expect(second.hasPrefix("a: v\nb: v\nMore keys remain"))
    }

    @Test func forgetAndSearch() async throws {
        let harness = Harness()
        _ = await harness.call("remember", ["key": "user.language", "value": "The user writes Swift and some Rust"])
        _ = await harness.call("remember", ["key": "project.deadline", "value": "Ship the beta by Friday"])
        #expect(await harness.call("search_memory", ["query": "rust"]) == ("user.language: …writes Swift and some [Rust]", false))
        #expect(await harness.call("search_memory", ["query": "nothing here"]) == ("No memories match \"nothing here\".", false))
        #expect(await harness.call("forget", ["key": "user.language"]) == ("Forgot \"user.language\".", false))
        #expect(await harness.call("forget", ["key": "user.language"]) == ("No memory is stored under \"user.language\"; nothing was forgotten.", false))
        #expect(try await harness.store.get("user.language", in: harness.namespace) == nil)
    }

    /// Every kind of bad input gives an is_error result with this exact text and writes nothing.
    @Test(arguments: [
        ("remember", JSONValue.array([]), "Invalid input for remember: the input must be a JSON object, got array"),
        ("remember", ["value": "v"], "Invalid input for remember: missing required field \"key\" (a string)"),
        ("remember", ["key": "k"], "Invalid input for remember: missing required field \"value\" (a string)"),
        ("remember", ["key": "k", "value": "v", "extra": 1], "Invalid input for remember: unknown field \"extra\"; allowed fields are key, value, mode, ttl_seconds"),
        ("remember", ["key": 7, "value": "v"], "Invalid input for remember: field \"key\" must be a string, got integer"),
        ("remember", ["key": "k", "value": ["a": 1]], "Invalid input for remember: field \"value\" must be a string, got object"),
        ("remember", ["key": "", "value": "v"], "Invalid input for remember: field \"key\" must not be empty"),
        ("remember", ["key": .string(String(repeating: "k", count: 513)), "value": "v"], "Invalid input for remember: field \"key\" is 513 UTF-8 bytes, the limit is 512"),
        ("remember", ["key": "a\tb", "value": "v"], "Invalid input for remember: field \"key\" must not contain control characters such as newlines or tabs"),
        ("remember", ["key": "k", "value": "v", "ttl_seconds": 0], "Invalid input for remember: field \"ttl_seconds\" must be an integer from 1 to 3153600000, got 0"),
        ("remember", ["key": "k", "value": "v", "ttl_seconds": -5], "Invalid input for remember: field \"ttl_seconds\" must be an integer from 1 to 3153600000, got -5"),
        ("remember", ["key": "k", "value": "v", "ttl_seconds": "60"], "Invalid input for remember: field \"ttl_seconds\" must be an integer from 1 to 3153600000, got string \"60\""),
        ("remember", ["key": "k", "value": "v", "ttl_seconds": 1.5], "Invalid input for remember: field \"ttl_seconds\" must be an integer from 1 to 3153600000, got number 1.5"),
        ("remember", ["key": "k", "value": "v", "ttl_seconds": 99_999_999_999], "Invalid input for remember: field \"ttl_seconds\" must be an integer from 1 to 3153600000, got 99999999999"),
        ("remember", ["key": "k", "value": .string(String(repeating: "x", count: 200))], "remember failed: Value for key \"k\" is 202 bytes of JSON, the limit is 100 bytes"),
        ("recall", [:], "Invalid input for recall: missing required field \"key\" (a string)"),
        ("recall", ["key": nil], "Invalid input for recall: missing required field \"key\" (a string)"),
        ("recall", ["key": "k", "prefix": "p"], "Invalid input for recall: unknown field \"prefix\"; allowed fields are key"),
        ("list_memory", ["limit": 0], "Invalid input for list_memory: field \"limit\" must be an integer from 1 to 100, got 0"),
        ("list_memory", ["limit": 101], "Invalid input for list_memory: field \"limit\" must be an integer from 1 to 100, got 101"),
        ("list_memory", ["prefix": 3], "Invalid input for list_memory: field \"prefix\" must be a string, got integer"),
        ("list_memory", ["cursor": "garbage!"], "Invalid input for list_memory: field \"cursor\" is not a cursor from list_memory; pass the cursor from the previous page's last line unchanged, or omit it to start again"),
        ("search_memory", ["query": "  ?! "], "Invalid input for search_memory: field \"query\" must contain at least one word"),
        ("search_memory", ["query": "x", "limit": 51], "Invalid input for search_memory: field \"limit\" must be an integer from 1 to 50, got 51"),
        ("forget", ["key": true], "Invalid input for forget: field \"key\" must be a string, got boolean"),
        ("delete_everything", [:], "Unknown tool \"delete_everything\". The tools available are: remember, recall, list_memory, forget, search_memory, memory"),
    ] as [(String, JSONValue, String)])
    func badInputIsAnErrorResultAndChangesNothing(tool: String, input: JSONValue, message: String) async throws {
        let harness = Harness(limits: MemoryLimits(maxValueBytes: 100))
        try await harness.store.put("k", value: "original", in: harness.namespace)
        try await harness.store.put("k", value: "elsewhere", in: try Namespace("other"))
        let before = try await harness.snapshot()
        let result = await harness.call(tool, input)
        #expect(result.isError)
        #expect(result.text == message)
        #expect(try await harness.snapshot() == before)
    }

    @Test func readOnlyAccessRefusesWritesAndAllowsReads() async throws {
        let store = InMemoryMemoryStore()
        let shared = try Namespace("agent")
        try await store.put("team.goal", value: "ship it", in: shared)
        let harness = Harness(access: .readOnly, store: store)
        #expect(await harness.call("remember", ["key": "x", "value": "y"]) == ("remember is not allowed: this agent has read-only access to namespace \"agent\"", true))
        #expect(await harness.call("forget", ["key": "team.goal"]) == ("forget is not allowed: this agent has read-only access to namespace \"agent\"", true))
        #expect(await harness.call("recall", ["key": "team.goal"]) == ("ship it", false))
        #expect(try await store.allRecords(in: shared).map(\.key) == ["team.goal"])
    }

    @Test func toolsThatAreNotEnabledAreUnknown() async throws {
        let harness = Harness(tools: MemoryToolKind.defaultSet)
        try await harness.store.put("k", value: "v", in: harness.namespace)
        #expect(await harness.call("forget", ["key": "k"]) == ("Unknown tool \"forget\". The tools available are: remember, recall, list_memory", true))
        #expect(try await harness.store.get("k", in: harness.namespace) != nil)
    }

    @Test func oneResultPerCallInOrderWithTheSameIDs() async throws {
        let harness = Harness()
        let response = try JSONValue(parsing: """
            {"id":"msg_1","type":"message","role":"assistant","model":"claude","stop_reason":"tool_use","content":[
              {"type":"text","text":"Let me check."},
              {"type":"tool_use","id":"toolu_a","name":"remember","input":{"key":"k","value":"v1"}},
              {"type":"tool_use","id":"toolu_b","name":"nope","input":{}},
              {"type":"tool_use","id":"toolu_c","name":"recall","input":{"key":"k"}},
              {"type":"tool_use","id":"toolu_d","name":"remember","input":{"key":"k"}}
            ]}
            """)
        let message = try await harness.executor.execute(json: response)
        #expect(message.role == .user)
        #expect(message.jsonValue.jsonString() == """
            {"role":"user","content":[\
            {"type":"tool_result","tool_use_id":"toolu_a","content":"Remembered \\"k\\" (version 1)."},\
            {"type":"tool_result","tool_use_id":"toolu_b","content":"Unknown tool \\"nope\\". The tools available are: remember, recall, list_memory, forget, search_memory, memory","is_error":true},\
            {"type":"tool_result","tool_use_id":"toolu_c","content":"v1"},\
            {"type":"tool_result","tool_use_id":"toolu_d","content":"Invalid input for remember: missing required field \\"value\\" (a string)","is_error":true}\
            ]}
            """)
        // The same blocks as an assistant message or a bare array give the same answer.
        let blocks = try #require(response["content"])
        #expect(try MemoryToolExecutor.contentBlocks(in: ["role": "assistant", "content": blocks]).count == 5)
        #expect(try MemoryToolExecutor.contentBlocks(in: blocks).count == 5)
        #expect(throws: MessageDecodingError.self) { try MemoryToolExecutor.contentBlocks(in: ["role": "assistant"]) }
        #expect(throws: MessageDecodingError.self) { try MemoryToolExecutor.contentBlocks(in: "text") }
        #expect(throws: MessageDecodingError.self) { try MemoryToolExecutor.contentBlocks(in: [["no": "type"]]) }
    }

    @Test func customToolsRunBesideMemoryTools() async throws {
        struct Refusal: Error, CustomStringConvertible { var description: String { "the weather service is down" } }
        let weather = CustomTool(
            definition: ToolDefinition(name: "weather", description: "Current weather for a city.", inputSchema: ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]]),
            handler: { input in
                guard let city = input["city"]?.stringValue else { throw Refusal() }
                return "Sunny in \(city)"
            })
        let harness = Harness(tools: MemoryToolKind.defaultSet, customTools: [weather])
        #expect(harness.executor.toolDefinitions.map(\.name) == ["remember", "recall", "list_memory", "weather"])
        #expect(await harness.call("weather", ["city": "Oslo"]) == ("Sunny in Oslo", false))
        #expect(await harness.call("weather", [:]) == ("the weather service is down", true))
    }

    @Test func storeFailuresBecomeErrorResults() async throws {
        let harness = Harness(limits: MemoryLimits(maxKeysPerNamespace: 1))
        _ = await harness.call("remember", ["key": "a", "value": "1"])
        #expect(await harness.call("remember", ["key": "b", "value": "2"]) == ("remember failed: Namespace \"agent\" would hold 2 keys, the limit is 1 keys", true))
    }

    @Test func toolListsParse() throws {
        #expect(try MemoryToolKind.parseList("all") == MemoryToolKind.everyTool)
        #expect(try MemoryToolKind.parseList("default,forget") == [.remember, .recall, .listMemory, .forget])
        #expect(try MemoryToolKind.parseList("recall, search_memory") == [.recall, .searchMemory])
        #expect(throws: MemoryError.self) { try MemoryToolKind.parseList("recall,bogus") }
    }
}

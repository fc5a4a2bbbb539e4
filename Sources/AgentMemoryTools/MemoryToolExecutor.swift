import AgentMemoryCore
import ClaudeMessages
import Foundation

/// A tool of the host's own, run by the executor beside the memory tools.
public struct CustomTool: Sendable {
    /// The definition sent to Claude.
    public var definition: ToolDefinition
    /// Runs a call: returns the result text, or throws to produce an `is_error` result whose
    /// text is the error's description.
    public var handler: @Sendable (JSONValue) async throws -> String

    /// Creates a custom tool.
    public init(definition: ToolDefinition, handler: @escaping @Sendable (JSONValue) async throws -> String) {
        self.definition = definition
        self.handler = handler
    }
}

/// Runs Claude's memory tool calls against one namespace of a store.
///
/// The store, the namespace, the agent id (recorded as the author of every write) and the
/// access are bound when the executor is made; the model never chooses them. Every call gets
/// exactly one `tool_result`, in order, with the same id. Model mistakes and store failures
/// become `is_error` results with a message that names the field and the rule; a rejected call
/// writes nothing; the executor never throws or traps on model input.
public struct MemoryToolExecutor: ToolExecutor {
    /// The store the tools read and write.
    public let store: any MemoryStore
    /// The namespace the tools are confined to.
    public let namespace: Namespace
    /// The agent id recorded as the author of writes.
    public let agent: String?
    /// The memory tools offered, in order.
    public let tools: [MemoryToolKind]
    /// Read-write or read-only.
    public let access: MemoryAccess
    /// Host tools offered after the memory tools.
    public let customTools: [CustomTool]
    /// The definitions for a request's `tools` array: memory tools then custom tools.
    public let toolDefinitions: [ToolDefinition]
    /// The version of each key this executor last read or wrote, to tell Claude when a
    /// colleague changed a key it is about to overwrite. Shared by copies of the executor.
    private let seenVersions = SeenVersions()

    /// Binds an executor to a store, namespace, agent, tool set and access.
    public init(
        store: any MemoryStore,
        namespace: Namespace,
        agent: String? = nil,
        tools: [MemoryToolKind] = MemoryToolKind.defaultSet,
        access: MemoryAccess = .readWrite,
        customTools: [CustomTool] = []
    ) {
        self.store = store
        self.namespace = namespace
        self.agent = agent
        self.tools = tools
        self.access = access
        self.customTools = customTools
        self.toolDefinitions = MemoryToolDefinitions.definitions(for: tools) + customTools.map(\.definition)
    }

    /// Binds an executor to `namespace` under an access policy: the agent, its access to the
    /// namespace and every store call are taken from `policy` (a namespace the policy does not
    /// grant answers every call with an access error).
    public init(
        store: any MemoryStore,
        namespace: Namespace,
        policy: AccessPolicy,
        tools: [MemoryToolKind] = MemoryToolKind.defaultSet,
        customTools: [CustomTool] = []
    ) {
        self.init(
            store: PolicyEnforcedStore(store, policy: policy), namespace: namespace, agent: policy.agent, tools: tools,
            access: policy.access(to: namespace) ?? .readOnly, customTools: customTools)
    }

    // MARK: - Running calls

    /// Runs the calls in order and returns one `tool_result` block per call.
    public func execute(_ toolUses: [ToolUse]) async -> [ContentBlock] {
        var results: [ContentBlock] = []
        results.reserveCapacity(toolUses.count)
        for toolUse in toolUses {
            results.append(await execute(toolUse))
        }
        return results
    }

    /// Runs one call and returns its `tool_result` block.
    public func execute(_ toolUse: ToolUse) async -> ContentBlock {
        let outcome = await run(name: toolUse.name, input: toolUse.input)
        return .toolResult(toolUseID: toolUse.id, content: outcome.text, isError: outcome.isError)
    }

    /// Runs the `tool_use` blocks among `blocks` and returns the user message with the results.
    public func execute(blocks: [ContentBlock]) async -> Message {
        Message(role: .user, content: await execute(blocks.compactMap(\.toolUse)))
    }

    /// Runs the tool calls of a Messages API response, an assistant message or a bare array of
    /// content blocks, given as JSON; returns the user message with the results. Throws only
    /// when the JSON has none of these shapes.
    public func execute(json: JSONValue) async throws -> Message {
        await execute(blocks: try Self.contentBlocks(in: json))
    }

    /// The content blocks of a Messages API response (`{"content": [...]}`), an assistant
    /// message (`{"role": "assistant", "content": [...]}`) or a bare array of blocks.
    public static func contentBlocks(in json: JSONValue) throws -> [ContentBlock] {
        switch json {
        case .array(let elements):
            return try elements.enumerated().map { index, element in
                do { return try ContentBlock(jsonValue: element) } catch let error as MessageDecodingError {
                    throw MessageDecodingError("content block \(index): \(error.message)")
                }
            }
        case .object(let object):
            guard let content = object["content"] else {
                throw MessageDecodingError("expected a Messages API response or message with a \"content\" array, or an array of content blocks; the object has no \"content\"")
            }
            guard case .array = content else {
                throw MessageDecodingError("\"content\" must be an array of content blocks, got \(content.typeName)")
            }
            return try contentBlocks(in: content)
        default:
            throw MessageDecodingError("expected a Messages API response, an assistant message or an array of content blocks, got \(json.typeName)")
        }
    }

    /// What a call produced: the result text and whether it is an error.
    public struct Outcome: Sendable, Hashable {
        /// The text for the `tool_result`.
        public var text: String
        /// Whether the result is an error.
        public var isError: Bool

        /// Creates an outcome.
        public init(text: String, isError: Bool) {
            self.text = text
            self.isError = isError
        }

        static func success(_ text: String) -> Outcome { Outcome(text: text, isError: false) }
        static func failure(_ text: String) -> Outcome { Outcome(text: text, isError: true) }
    }

    /// Runs one call by tool name and input.
    public func run(name: String, input: JSONValue) async -> Outcome {
        if let tool = MemoryToolKind(rawValue: name), tools.contains(tool) {
            // The memory tool allows `view` in read-only mode and words its own refusals.
            if tool.writes, access == .readOnly, tool != .memory {
                return .failure("\(name) is not allowed: this agent has read-only access to namespace \"\(namespace)\"")
            }
            do {
                return try await run(tool, input: input)
            } catch let error as ToolInputError {
                return .failure(error.message)
            } catch let error as MemoryError {
                return .failure("\(name) failed: \(error.message)")
            } catch {
                return .failure("\(name) failed: \(error)")
            }
        }
        if let custom = customTools.first(where: { $0.definition.name == name }) {
            do {
                return .success(try await custom.handler(input))
            } catch {
                return .failure(String(describing: error))
            }
        }
        let available = toolDefinitions.map(\.name).joined(separator: ", ")
        return .failure("Unknown tool \"\(name)\". The tools available are: \(available)")
    }

    private func run(_ tool: MemoryToolKind, input: JSONValue) async throws -> Outcome {
        switch tool {
        case .remember: return try await remember(input)
        case .recall: return try await recall(input)
        case .listMemory: return try await listMemory(input)
        case .forget: return try await forget(input)
        case .searchMemory: return try await searchMemory(input)
        case .memory:
            let result = await BuiltinMemoryTool(store: store, namespace: namespace, author: agent, readOnly: access == .readOnly)
                .run(input)
            return Outcome(text: result.text, isError: result.isError)
        }
    }

    // MARK: - The tools

    private func remember(_ raw: JSONValue) async throws -> Outcome {
        let input = try ToolInput(tool: "remember", input: raw, allowed: ["key", "value", "mode", "ttl_seconds"])
        let key = try input.key()
        let value = try input.requiredString("value")
        let mode = try input.optionalString("mode") ?? "replace"
        guard mode == "replace" || mode == "append" else {
            throw input.fail("field \"mode\" must be \"replace\" or \"append\", got \"\(mode.truncatedForMessage)\"")
        }
        let ttl = try input.optionalInteger("ttl_seconds", in: 1...MemoryToolDefinitions.maximumTTLSeconds)
        if mode == "append" {
            if ttl != nil { throw input.fail("field \"ttl_seconds\" cannot be used with mode \"append\" (the key keeps its own expiry)") }
            let record = try await store.append(
                key, value: .string(value), in: namespace, options: AppendOptions(separator: "\n", author: agent))
            await seenVersions.saw(key, version: record.version)
            if case .array(let items) = record.value {
                return .success("Appended to \"\(key)\" (version \(record.version)); the list has \(items.count) item\(items.count == 1 ? "" : "s").")
            }
            return .success("Appended to \"\(key)\" (version \(record.version)).")
        }
        // Read first only to warn about a colleague's write; the put itself is last-writer-wins.
        let previous = try await store.get(key, in: namespace)
        let lastSeen = await seenVersions.version(of: key)
        let record = try await store.put(
            key, value: .string(value), in: namespace,
            options: PutOptions(ttl: ttl.map { .seconds($0) }, author: agent))
        await seenVersions.saw(key, version: record.version)
        var text = record.version == 1
            ? "Remembered \"\(key)\" (version 1)."
            : "Updated \"\(key)\" (version \(record.version))."
        if let ttl { text += " It expires in \(ttl) seconds." }
        if let previous, previous.author != agent, previous.version > (lastSeen ?? 0) {
            let writer = previous.author.map { "\"\($0)\"" } ?? "another writer"
            let when = lastSeen == nil ? "and you had not read it" : "after you last read it"
            text += " Note: \(writer) wrote this key (version \(previous.version), \(MemoryToolExecutor.shortTime(previous.updatedAt))) \(when); your write replaced that value. Recall shared keys before updating them, or use mode \"append\"."
        }
        return .success(text)
    }

    private func recall(_ raw: JSONValue) async throws -> Outcome {
        let input = try ToolInput(tool: "recall", input: raw, allowed: ["key"])
        let key = try input.key()
        if let record = try await store.get(key, in: namespace) {
            await seenVersions.saw(key, version: record.version)
            return .success(MemoryText.text(of: record.value))
        }
        let keys = try await visibleKeys(limit: 5_000)
        if keys.isEmpty {
            return .success("No memory is stored under \"\(key)\". The memory is empty: nothing has been remembered yet.")
        }
        let suggestions = KeySuggestions.closest(to: key, among: keys)
        if suggestions.isEmpty {
            return .success("No memory is stored under \"\(key)\", and no stored key is similar. Call list_memory to see the keys that exist.")
        }
        let quoted = suggestions.map { "\"\($0)\"" }.joined(separator: ", ")
        return .success("No memory is stored under \"\(key)\". Closest existing keys: \(quoted). Call recall with one of them, or list_memory to see all keys.")
    }

    private func listMemory(_ raw: JSONValue) async throws -> Outcome {
        let input = try ToolInput(tool: "list_memory", input: raw, allowed: ["prefix", "cursor", "limit"])
        let prefix = try input.optionalString("prefix").flatMap { $0.isEmpty ? nil : $0 }
        let cursor = try input.optionalString("cursor").flatMap { $0.isEmpty ? nil : $0 }
        let limit = try input.optionalInteger("limit", in: 1...100) ?? MemoryToolDefinitions.defaultListLimit
        if let cursor {
            do { _ = try ListCursor.decode(cursor) } catch {
                throw input.fail("field \"cursor\" is not a cursor from list_memory; pass the cursor from the previous page's last line unchanged, or omit it to start again")
            }
        }
        let page = try await visiblePage(prefix: prefix, cursor: cursor, limit: limit)
        if page.records.isEmpty {
            if let prefix { return .success("No keys start with \"\(prefix)\".") }
            return .success(cursor == nil ? "No memories are stored yet." : "No more keys.")
        }
        // When several agents wrote these keys, say who wrote each one last and when.
        let showAuthors = Set(page.records.map { $0.author ?? "" }).count > 1
        var lines = page.records.map { record in
            let line = "\(record.key): \(MemoryText.preview(of: record.value))"
            guard showAuthors else { return line }
            return line + " (by \(record.author ?? "unknown"), \(MemoryToolExecutor.shortTime(record.updatedAt)))"
        }
        if let next = page.nextCursor {
            lines.append("More keys remain: call list_memory with cursor \"\(next)\"\(prefix.map { " and prefix \"\($0)\"" } ?? "") to get the next page.")
        }
        return .success(lines.joined(separator: "\n"))
    }

    private func forget(_ raw: JSONValue) async throws -> Outcome {
        let input = try ToolInput(tool: "forget", input: raw, allowed: ["key"])
        let key = try input.key()
        if try await store.delete(key, in: namespace, ifVersion: nil, author: agent) {
            return .success("Forgot \"\(key)\".")
        }
        return .success("No memory is stored under \"\(key)\"; nothing was forgotten.")
    }

    private func searchMemory(_ raw: JSONValue) async throws -> Outcome {
        let input = try ToolInput(tool: "search_memory", input: raw, allowed: ["query", "limit"])
        let query = try input.requiredString("query")
        guard !SearchText.terms(of: query).isEmpty else {
            throw input.fail("field \"query\" must contain at least one word")
        }
        let limit = try input.optionalInteger("limit", in: 1...50) ?? MemoryToolDefinitions.defaultSearchLimit
        // Ask for a few more in case reserved records match, then keep `limit` visible ones.
        let hits = try await store.search(query, in: namespace, limit: limit + 5)
            .filter { !ReservedKeys.isReserved($0.record.key) }
            .prefix(limit)
        if hits.isEmpty { return .success("No memories match \"\(query)\".") }
        return .success(hits.map { "\($0.record.key): \(MemoryText.singleLine($0.snippet, limit: 200))" }.joined(separator: "\n"))
    }

    // MARK: - Helpers

    /// A page of keys the model may see: reserved keys are skipped (they form one contiguous
    /// range in byte order, which is jumped over at once).
    private func visiblePage(prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        var records: [MemoryRecord] = []
        var cursor = cursor
        while true {
            let page = try await store.list(in: namespace, prefix: prefix, cursor: cursor, limit: limit - records.count)
            var sawReserved = false
            for record in page.records {
                if ReservedKeys.isReserved(record.key) { sawReserved = true } else { records.append(record) }
            }
            guard let next = page.nextCursor else { return MemoryPage(records: records, nextCursor: nil) }
            if records.count == limit {
                return MemoryPage(records: records, nextCursor: next)
            }
            cursor = sawReserved ? ListCursor.encode(afterKey: Self.endOfReservedRange) : next
        }
    }

    /// A key greater than every reserved key the library writes.
    private static let endOfReservedRange = ReservedKeys.prefix + String(repeating: "\u{10FFFF}", count: 130)

    private func visibleKeys(limit: Int) async throws -> [String] {
        var keys: [String] = []
        var cursor: String?
        repeat {
            let page = try await visiblePage(prefix: nil, cursor: cursor, limit: 100)
            keys += page.records.map(\.key)
            cursor = page.nextCursor
        } while cursor != nil && keys.count < limit
        return keys
    }

    /// A time as `2026-11-25 20:01 UTC`, as shown to Claude.
    static func shortTime(_ date: Date) -> String {
        let text = MemoryRecord.formatDate(date)  // 2026-11-25T20:01:28.000Z
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5)) + " UTC"
    }
}

/// The versions of keys an executor has read or written.
actor SeenVersions {
    private var versions: [String: Int] = [:]

    func version(of key: String) -> Int? { versions[key] }

    func saw(_ key: String, version: Int) {
        if versions.count > 10_000 { versions.removeAll() }
        versions[key] = version
    }
}

import AgentMemoryJSON
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
    ///
    /// The `remember`, `recall` and `forget` calls of one turn are written in one atomic batch
    /// (one transaction, one fsync): each call still sees the writes of the calls before it,
    /// and a rejected call adds nothing. Other tools first commit what is pending, then run. If
    /// the batch fails (a colleague wrote one of its keys meanwhile, or a limit), nothing of it
    /// was written and its calls run again one by one, each with its own result.
    public func execute(_ toolUses: [ToolUse]) async -> [ContentBlock] {
        guard toolUses.count > 1 else { return await toolUses.asyncMap { await execute($0) } }
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(toolUses.count)
        var segment: [ToolUse] = []
        var overlay = TurnOverlay()
        func commitSegment() async {
            defer {
                segment.removeAll()
                overlay = TurnOverlay()
            }
            guard !overlay.operations.isEmpty else {
                await overlay.applySeen(to: seenVersions)
                return
            }
            do {
                _ = try await store.batch(overlay.operations, in: namespace)
                await overlay.applySeen(to: seenVersions)
            } catch {
                outcomes.removeLast(segment.count)
                for call in segment { outcomes.append(await run(name: call.name, input: call.input)) }
            }
        }
        for call in toolUses {
            if let tool = MemoryToolKind(rawValue: call.name), tools.contains(tool), [.remember, .recall, .forget].contains(tool) {
                if let outcome = await run(name: call.name, input: call.input, via: .turn(overlay)) {
                    segment.append(call)
                    outcomes.append(outcome)
                    continue
                }
            }
            // Needs the store as it is (a listing, a search, another tool): commit first.
            await commitSegment()
            outcomes.append(await run(name: call.name, input: call.input))
        }
        await commitSegment()
        return zip(toolUses, outcomes).map { call, outcome in
            .toolResult(toolUseID: call.id, content: outcome.text, isError: outcome.isError)
        }
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
        // Direct access never asks to commit first.
        await run(name: name, input: input, via: .direct)!
    }

    /// Runs one call reading and writing through `access`; `nil` when the call needs the
    /// pending writes of the turn committed before it can run.
    private func run(name: String, input: JSONValue, via route: RecordAccess) async -> Outcome? {
        if let tool = MemoryToolKind(rawValue: name), tools.contains(tool) {
            // The memory tool allows `view` in read-only mode and words its own refusals.
            if tool.writes, access == .readOnly, tool != .memory {
                return .failure("\(name) is not allowed: this agent has read-only access to namespace \"\(namespace)\"")
            }
            do {
                return try await run(tool, input: input, via: route)
            } catch is CommitFirst {
                return nil
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

    private func run(_ tool: MemoryToolKind, input: JSONValue, via route: RecordAccess) async throws -> Outcome {
        switch tool {
        case .remember: return try await remember(input, via: route)
        case .recall: return try await recall(input, via: route)
        case .listMemory: return try await listMemory(input)
        case .forget: return try await forget(input, via: route)
        case .searchMemory: return try await searchMemory(input)
        case .memory:
            let result = await BuiltinMemoryTool(store: store, namespace: namespace, author: agent, readOnly: access == .readOnly)
                .run(input)
            return Outcome(text: result.text, isError: result.isError)
        }
    }

    // MARK: - The tools

    private func remember(_ raw: JSONValue, via route: RecordAccess) async throws -> Outcome {
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
            let record = try await append(key, value: .string(value), options: AppendOptions(separator: "\n", author: agent), via: route)
            await noteSeen(key, version: record.version, via: route)
            if case .array(let items) = record.value {
                return .success("Appended to \"\(key)\" (version \(record.version)); the list has \(items.count) item\(items.count == 1 ? "" : "s").")
            }
            return .success("Appended to \"\(key)\" (version \(record.version)).")
        }
        // Read first only to warn about a colleague's write; the put itself is last-writer-wins.
        let previous = try await get(key, via: route)
        let lastSeen = await seenVersions.version(of: key)
        let record = try await put(
            key, value: .string(value), options: PutOptions(ttl: ttl.map { .seconds($0) }, author: agent),
            previous: previous, via: route)
        await noteSeen(key, version: record.version, via: route)
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

    private func recall(_ raw: JSONValue, via route: RecordAccess) async throws -> Outcome {
        let input = try ToolInput(tool: "recall", input: raw, allowed: ["key"])
        let key = try input.key()
        if let record = try await get(key, via: route) {
            await noteSeen(key, version: record.version, via: route)
            return .success(MemoryText.text(of: record.value))
        }
        // The suggestions come from a listing, which must include this turn's writes.
        if case .turn(let overlay) = route, !overlay.operations.isEmpty { throw CommitFirst() }
        let keys = try await visibleKeys(limit: 2_000)
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

    private func forget(_ raw: JSONValue, via route: RecordAccess) async throws -> Outcome {
        let input = try ToolInput(tool: "forget", input: raw, allowed: ["key"])
        let key = try input.key()
        if try await delete(key, via: route) {
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

    // MARK: - Reading and writing, directly or as part of a turn's batch

    /// Remembers the version this agent has seen of a key; in a turn, only once it commits.
    private func noteSeen(_ key: String, version: Int, via route: RecordAccess) async {
        switch route {
        case .direct: await seenVersions.saw(key, version: version)
        case .turn(let overlay): overlay.seen.append((key, version))
        }
    }

    private func get(_ key: String, via route: RecordAccess) async throws -> MemoryRecord? {
        switch route {
        case .direct:
            return try await store.get(key, in: namespace)
        case .turn(let overlay):
            if let known = overlay.known[ByteString(key)] { return known }
            let record = try await store.get(key, in: namespace)
            overlay.known[ByteString(key)] = .some(record)
            return record
        }
    }

    /// A last-writer-wins put; in a turn, a compare-and-set on the version read, so that the
    /// batch fails (and the calls run again one by one) if someone else wrote in between.
    private func put(
        _ key: String, value: JSONValue, options: PutOptions, previous: MemoryRecord?, via route: RecordAccess
    ) async throws -> MemoryRecord {
        switch route {
        case .direct:
            return try await store.put(key, value: value, in: namespace, options: options)
        case .turn(let overlay):
            var options = options
            options.ifVersion = previous?.version ?? 0
            overlay.operations.append(.put(key: key, value: value, options: options))
            let now = Date()
            let record = MemoryRecord(
                key: key, value: value, version: (previous?.version ?? 0) + 1, createdAt: previous?.createdAt ?? now,
                updatedAt: now, author: options.author, expiresAt: options.expiry(from: now))
            overlay.known[ByteString(key)] = .some(record)
            return record
        }
    }

    private func append(_ key: String, value: JSONValue, options: AppendOptions, via route: RecordAccess) async throws -> MemoryRecord {
        switch route {
        case .direct:
            return try await store.append(key, value: value, in: namespace, options: options)
        case .turn(let overlay):
            let previous = try await get(key, via: route)
            let combined = try options.appending(value, to: previous?.value, key: key)
            var options = options
            options.ifVersion = previous?.version ?? 0
            overlay.operations.append(.append(key: key, value: value, options: options))
            let now = Date()
            let record = MemoryRecord(
                key: key, value: combined, version: (previous?.version ?? 0) + 1, createdAt: previous?.createdAt ?? now,
                updatedAt: now, author: options.author, expiresAt: previous?.expiresAt)
            overlay.known[ByteString(key)] = .some(record)
            return record
        }
    }

    private func delete(_ key: String, via route: RecordAccess) async throws -> Bool {
        switch route {
        case .direct:
            return try await store.delete(key, in: namespace, ifVersion: nil, author: agent)
        case .turn(let overlay):
            guard let current = try await get(key, via: route) else { return false }
            overlay.operations.append(.delete(key: key, ifVersion: current.version, author: agent))
            overlay.known[ByteString(key)] = .some(nil)
            return true
        }
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

/// Where `remember`, `recall` and `forget` read and write.
private enum RecordAccess {
    /// The store, one call at a time.
    case direct
    /// A turn's pending batch over the store.
    case turn(TurnOverlay)
}

/// The writes of a turn not yet committed, and what the turn knows of each key it touched.
private final class TurnOverlay {
    /// Each key's record as the turn sees it: `.some(nil)` when absent or deleted.
    var known: [ByteString: MemoryRecord?] = [:]
    /// The operations to commit, in order.
    var operations: [MemoryOperation] = []
    /// Versions seen by the turn's calls, recorded once the turn commits.
    var seen: [(String, Int)] = []

    func applySeen(to versions: SeenVersions) async {
        for (key, version) in seen { await versions.saw(key, version: version) }
    }
}

/// A key as bytes, so that the overlay compares keys as the stores do.
private struct ByteString: Hashable {
    let bytes: [UInt8]
    init(_ string: String) { bytes = Array(string.utf8) }
}

/// Thrown in a turn by a call that must see the store with the turn's writes committed.
private struct CommitFirst: Error {}

extension Array {
    /// Maps in order, awaiting each element.
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var results: [T] = []
        results.reserveCapacity(count)
        for element in self { results.append(await transform(element)) }
        return results
    }
}

import AgentMemoryJSON
import AgentMemoryCore

/// `remember`: stores a string under a key, replacing it or appending to it, and tells Claude
/// when a colleague wrote the key since this agent last read it.
struct RememberTool: MemoryToolHandler {
    var stagesInTurn: Bool { true }

    func run(_ raw: JSONValue, in context: ToolContext) async throws -> ToolOutcome {
        let input = try ToolCallInput(tool: "remember", input: raw, allowed: ["key", "value", "mode", "ttl_seconds"])
        let key = try input.key()
        let value = try input.requiredString("value")
        let mode = try input.optionalString("mode") ?? "replace"
        guard mode == "replace" || mode == "append" else {
            throw input.fail("field \"mode\" must be \"replace\" or \"append\", got \"\(mode.truncatedForMessage)\"")
        }
        let ttl = try input.optionalInteger("ttl_seconds", in: 1...MemoryToolDefinitions.maximumTTLSeconds)
        if mode == "append" {
            if ttl != nil { throw input.fail("field \"ttl_seconds\" cannot be used with mode \"append\" (the key keeps its own expiry)") }
            let outcome = try await context.write(
                .append(key: key, value: .string(value), options: AppendOptions(separator: "\n", author: context.agent)))
            guard let record = outcome.record else { throw MemoryError(.storage, "the store stored no record") }
            await context.noteSeen(key, version: record.version)
            if case .array(let items) = record.value {
                return .success("Appended to \"\(key)\" (version \(record.version)); the list has \(items.count) item\(items.count == 1 ? "" : "s").")
            }
            return .success("Appended to \"\(key)\" (version \(record.version)).")
        }
        // Last writer wins; the write reports the version it replaced, for the colleague note.
        let lastSeen = await context.lastSeen(key)
        let outcome = try await context.write(
            .put(key: key, value: .string(value), options: PutOptions(ttl: ttl.map { .seconds($0) }, author: context.agent)))
        guard let record = outcome.record else { throw MemoryError(.storage, "the store stored no record") }
        await context.noteSeen(key, version: record.version)
        var text = record.version == 1
            ? "Remembered \"\(key)\" (version 1)."
            : "Updated \"\(key)\" (version \(record.version))."
        if let ttl { text += " It expires in \(ttl) seconds." }
        if let previous = outcome.previous, previous.author != context.agent, previous.version > (lastSeen ?? 0) {
            let writer = previous.author.map { "\"\($0)\"" } ?? "another writer"
            let when = lastSeen == nil ? "and you had not read it" : "after you last read it"
            text += " Note: \(writer) wrote this key (version \(previous.version), \(ToolContext.shortTime(previous.updatedAt))) \(when); your write replaced that value. Recall shared keys before updating them, or use mode \"append\"."
        }
        return .success(text)
    }
}

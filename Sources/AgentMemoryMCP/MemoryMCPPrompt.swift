import AgentMemory
import MCP

/// A prompt with short guidance on using the memory tools (swift-sdk 0.12.1
/// `Sources/MCP/Server/Prompts.swift`: `Prompt`, `GetPrompt`).
enum MemoryMCPPrompt {
    /// The prompt's name.
    static let name = "use_memory"

    /// The prompt as `prompts/list` shows it.
    static let prompt = Prompt(
        name: name, title: "Use persistent memory",
        description: "How to use the memory tools of this server: check before answering, save what is worth keeping.")

    /// The prompt's one user message for the tools offered.
    static func get(_ parameters: GetPrompt.Parameters, tools: [Tool], namespace: Namespace, readOnly: Bool) throws -> GetPrompt.Result {
        guard parameters.name == name else {
            throw MCPError.invalidParams("Unknown prompt \"\(parameters.name)\". The prompt available is \(name).")
        }
        return GetPrompt.Result(description: prompt.description, messages: [.user(.text(text: text(tools: tools.map(\.name), namespace: namespace, readOnly: readOnly)))])
    }

    /// The guidance text.
    static func text(tools: [String], namespace: Namespace, readOnly: Bool) -> String {
        var lines = [
            "You have persistent memory (namespace \"\(namespace)\") that lasts across conversations and is shared with other agents using it. Tools: \(tools.joined(separator: ", ")).",
            "- Before answering, recall what may have been saved earlier (preferences, facts, task progress); use list_memory to browse keys when unsure of a name.",
        ]
        if readOnly {
            lines.append("- This memory is read-only for you: read it, but do not try to save or delete.")
        } else {
            lines.append("- Save anything worth keeping with remember under a short, descriptive key such as \"user.name\" or \"project.deadline\"; use mode \"append\" to add to a shared list without overwriting it.")
            if tools.contains(MemoryToolKind.forget.rawValue) {
                lines.append("- Use forget only for what is wrong or no longer true.")
            }
        }
        if tools.contains(MemoryToolKind.searchMemory.rawValue) {
            lines.append("- Use search_memory when you know what you are looking for but not its key.")
        }
        return lines.joined(separator: "\n")
    }
}

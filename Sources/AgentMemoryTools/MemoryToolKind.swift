import AgentMemoryCore
/// The memory tools an executor can offer Claude.
public enum MemoryToolKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Save a value under a key.
    case remember
    /// Read a value by key.
    case recall
    /// List keys with previews, paginated.
    case listMemory = "list_memory"
    /// Delete a key (opt-in).
    case forget
    /// Full-text search over keys and values (opt-in).
    case searchMemory = "search_memory"
    /// Claude's built-in memory tool (`memory_20250818`): files under `/memories` kept in the
    /// same namespace (opt-in). See ``BuiltinMemoryTool``.
    case memory

    /// The tool's name as Claude sees it.
    public var description: String { rawValue }

    /// Whether the tool writes to the store.
    public var writes: Bool {
        switch self {
        case .remember, .forget, .memory: return true
        case .recall, .listMemory, .searchMemory: return false
        }
    }

    /// The default set: `remember`, `recall`, `list_memory`.
    public static let defaultSet: [MemoryToolKind] = [.remember, .recall, .listMemory]

    /// Every tool, in a stable order.
    public static let everyTool: [MemoryToolKind] = allCases

    /// Parses a comma-separated list of tool names, `default` or `all` (as the CLI's `--tools`).
    /// Throws a message listing the valid names for an unknown one.
    public static func parseList(_ text: String) throws -> [MemoryToolKind] {
        var tools: [MemoryToolKind] = []
        func add(_ tool: MemoryToolKind) { if !tools.contains(tool) { tools.append(tool) } }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: .whitespaces)
            switch name {
            case "all": everyTool.forEach(add)
            case "default": defaultSet.forEach(add)
            default:
                guard let tool = MemoryToolKind(rawValue: name) else {
                    let valid = (["all", "default"] + allCases.map(\.rawValue)).joined(separator: ", ")
                    throw MemoryError(.invalidArgument, "Unknown tool \"\(name)\" in the tool list; valid names are \(valid)")
                }
                add(tool)
            }
        }
        return tools
    }
}

import Foundation

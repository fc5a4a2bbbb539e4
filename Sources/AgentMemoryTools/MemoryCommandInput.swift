import AgentMemoryJSON
import AgentMemoryCore

/// The input of one memory tool call, with typed field access whose failures are messages for
/// the model (a missing or mistyped field is an `is_error` result, never a crash).
struct MemoryCommandInput {
    /// The commands of `memory_20250818`, in the order the messages list them.
    static let commands = ["view", "create", "str_replace", "insert", "delete", "rename"]
    private static let commandList = commands.joined(separator: ", ")

    /// The `command` field.
    let command: String
    private let object: JSONObject

    /// Reads the object and its `command`.
    init(_ input: JSONValue) throws(MemoryToolFailure) {
        guard let object = input.objectValue else {
            throw MemoryToolFailure(
                "Invalid input for the memory tool: expected a JSON object with a `command`, got \(input.typeName)")
        }
        switch object["command"] {
        case nil, .some(.null):
            throw MemoryToolFailure("Missing required parameter `command`: it must be one of \(Self.commandList)")
        case .some(.string(let command)):
            self.command = command
        case .some(let other):
            throw MemoryToolFailure("Parameter `command` must be a string (one of \(Self.commandList)), got \(other.typeName)")
        }
        self.object = object
    }

    /// The error for a command that is not one of ``commands``.
    var unknownCommand: MemoryToolFailure {
        MemoryToolFailure("Unknown command: \(command.truncatedForMessage). Valid commands are: \(Self.commandList)")
    }

    /// A required string field.
    func string(_ field: String) throws(MemoryToolFailure) -> String {
        switch object[field] {
        case nil, .some(.null): throw missing(field)
        case .some(.string(let value)): return value
        case .some(let other): throw mistyped(field, expected: "a string", got: other)
        }
    }

    /// A required integer field (a JSON number with an integer value).
    func integer(_ field: String) throws(MemoryToolFailure) -> Int {
        switch object[field] {
        case nil, .some(.null): throw missing(field)
        case .some(let value):
            guard let integer = value.intValue else { throw mistyped(field, expected: "an integer", got: value) }
            return integer
        }
    }

    /// The optional `view_range` of `view`: two integers `[start, end]`, `end` `-1` or a line number.
    func viewRange() throws(MemoryToolFailure) -> (start: Int, end: Int)? {
        guard let value = object["view_range"], value != .null else { return nil }
        guard let array = value.arrayValue, array.count == 2, let start = array[0].intValue, let end = array[1].intValue else {
            throw MemoryToolFailure(
                "Parameter `view_range` of command `view` must be an array of two integers [start, end], got \(value.jsonString().truncatedForMessage)")
        }
        guard end >= -1 else {
            throw MemoryToolFailure(
                "Invalid `view_range` parameter: [\(start), \(end)]. The end must be a line number, or -1 for the last line.")
        }
        return (start, end)
    }

    private func missing(_ field: String) -> MemoryToolFailure {
        MemoryToolFailure("Missing required parameter `\(field)` for command `\(command)`")
    }

    private func mistyped(_ field: String, expected: String, got value: JSONValue) -> MemoryToolFailure {
        MemoryToolFailure("Parameter `\(field)` of command `\(command)` must be \(expected), got \(value.typeName)")
    }
}

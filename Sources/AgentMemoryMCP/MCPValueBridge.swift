import AgentMemoryJSON
import MCP

/// Conversions between the project's `JSONValue` and the MCP SDK's `Value`
/// (swift-sdk 0.12.1 `Sources/MCP/Base/Value.swift`: null, bool, int, double, string, data,
/// array, object).
enum MCPValueBridge {
    /// The SDK value for a JSON value. Object member order is lost: `Value` keeps a dictionary.
    static func value(_ json: JSONValue) -> Value {
        switch json {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .string(let text): return .string(text)
        case .array(let items): return .array(items.map(value))
        case .object(let object):
            var members: [String: Value] = [:]
            for (key, member) in object { members[key] = value(member) }
            return .object(members)
        }
    }

    /// The JSON value for an SDK value. `data` (which the SDK encodes as a `data:` URL string)
    /// becomes that string, as it would arrive over the wire.
    static func json(_ value: Value) -> JSONValue {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .string(let text): return .string(text)
        case .data: return .string(value.description)
        case .array(let items): return .array(items.map(json))
        case .object(let members):
            // Sorted so that a tool sees the same input whatever the dictionary's order.
            return .object(JSONObject(members.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) }))
        }
    }

    /// A tool call's arguments as the executor's input: an object (empty when none were sent).
    static func input(_ arguments: [String: Value]?) -> JSONValue {
        json(.object(arguments ?? [:]))
    }
}

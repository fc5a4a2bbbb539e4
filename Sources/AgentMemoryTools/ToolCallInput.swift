import AgentMemoryJSON
import AgentMemoryCore
import ClaudeMessages

/// A model mistake in a tool call: reported to Claude as an `is_error` result.
struct ToolInputError: Error {
    let message: String
}

/// Reads and checks a tool call's input against the tool's schema, producing messages that
/// name the field and the rule that was broken.
struct ToolCallInput {
    let tool: String
    let object: JSONObject

    init(tool: String, input: JSONValue, allowed: [String]) throws(ToolInputError) {
        self.tool = tool
        guard case .object(let object) = input else {
            throw ToolInputError(message: "Invalid input for \(tool): the input must be a JSON object, got \(input.typeName)")
        }
        for key in object.keys where !allowed.contains(key) {
            let fields = allowed.isEmpty ? "it takes no fields" : "allowed fields are " + allowed.joined(separator: ", ")
            throw ToolInputError(message: "Invalid input for \(tool): unknown field \"\(key)\"; \(fields)")
        }
        self.object = object
    }

    func fail(_ problem: String) -> ToolInputError {
        ToolInputError(message: "Invalid input for \(tool): \(problem)")
    }

    /// A present, non-null value for `name`.
    private func value(_ name: String) -> JSONValue? {
        guard let value = object[name], value != .null else { return nil }
        return value
    }

    func requiredString(_ name: String) throws(ToolInputError) -> String {
        guard let value = value(name) else { throw fail("missing required field \"\(name)\" (a string)") }
        guard case .string(let string) = value else {
            throw fail("field \"\(name)\" must be a string, got \(value.typeName)")
        }
        return string
    }

    func optionalString(_ name: String) throws(ToolInputError) -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let string) = value else {
            throw fail("field \"\(name)\" must be a string, got \(value.typeName)")
        }
        return string
    }

    func optionalInteger(_ name: String, in range: ClosedRange<Int>) throws(ToolInputError) -> Int? {
        guard let value = value(name) else { return nil }
        let rule = range.upperBound == Int.max
            ? "an integer >= \(range.lowerBound)" : "an integer from \(range.lowerBound) to \(range.upperBound)"
        guard let integer = value.intValue else {
            throw fail("field \"\(name)\" must be \(rule), got \(value.typeName) \(value.jsonString().truncatedForMessage)")
        }
        guard range.contains(integer) else { throw fail("field \"\(name)\" must be \(rule), got \(integer)") }
        return integer
    }

    /// A key: a non-empty string, within the key rules, not reserved for the library. Checked
    /// here, once, with messages for the model; the stores take it as it is.
    func key(_ name: String = "key") throws(ToolInputError) -> MemoryKey {
        let key = try requiredString(name)
        let bytes = key.utf8.count
        if bytes == 0 { throw fail("field \"\(name)\" must not be empty") }
        if bytes > MemoryKey.maxBytes { throw fail("field \"\(name)\" is \(bytes) UTF-8 bytes, the limit is \(MemoryKey.maxBytes)") }
        if MemoryKey.firstControlCharacter(in: key) != nil {
            throw fail("field \"\(name)\" must not contain control characters such as newlines or tabs")
        }
        if ReservedKeys.isReserved(key) {
            throw fail("keys starting with \"\(ReservedKeys.prefix)\" are reserved for the library")
        }
        return MemoryKey(checked: key)
    }
}

import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing

@Suite("Tool schemas")
struct ToolSchemaTests {
    static let schemaDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tool-schemas")

    @Test(arguments: MemoryToolKind.everyTool.filter { $0 != .memory })
    func everyDefinitionIsAValidMessagesAPITool(tool: MemoryToolKind) throws {
        let json = MemoryToolDefinitions.definition(for: tool).jsonValue
        #expect(json["name"] == .string(tool.rawValue))
        let description = try #require(json["description"]?.stringValue)
        #expect(description.count > 100)
        let schema = try #require(json["input_schema"])
        #expect(schema["type"] == "object")
        #expect(schema["additionalProperties"] == false)
        let properties = try #require(schema["properties"]?.objectValue)
        let required = try #require(schema["required"]?.arrayValue)
        for name in required {
            #expect(properties[try #require(name.stringValue)] != nil, "required field \(name) is a property")
        }
        for (name, property) in properties {
            #expect(property["type"]?.stringValue != nil, "\(name) has a type")
            #expect(property["description"]?.stringValue != nil, "\(name) has a description")
        }
        #expect(json.objectValue?.keys == ["name", "description", "input_schema"])
    }

    @Test(arguments: MemoryToolKind.everyTool)
    func committedSchemaFilesMatchTheCode(tool: MemoryToolKind) throws {
        let file = Self.schemaDirectory.appendingPathComponent("\(tool.rawValue).json")
        let committed = try JSONValue(parsing: Data(contentsOf: file))
        let code = MemoryToolDefinitions.definition(for: tool).jsonValue
        #expect(committed == code, "tool-schemas/\(tool.rawValue).json differs from the code: run `swift run agent-memory schemas --write tool-schemas`")
        #expect(String(decoding: try Data(contentsOf: file), as: UTF8.self) == code.jsonString(pretty: true) + "\n")
    }

    @Test func theBuiltInMemoryToolIsDeclaredByTypeOnly() {
        #expect(MemoryToolDefinitions.definition(for: .memory).jsonValue.jsonString() == #"{"type":"memory_20250818","name":"memory"}"#)
    }

    @Test func toolsJSONIsTheDefaultSet() throws {
        let committed = try JSONValue(parsing: Data(contentsOf: Self.schemaDirectory.appendingPathComponent("tools.json")))
        #expect(committed == .array(MemoryToolDefinitions.definitions(for: MemoryToolKind.defaultSet).map(\.jsonValue)))
        #expect(committed.arrayValue?.compactMap { $0["name"]?.stringValue } == ["remember", "recall", "list_memory"])
    }
}

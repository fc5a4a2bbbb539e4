import AgentMemoryJSON
import ClaudeMessages

/// Finds the content blocks in what a host hands the executor as JSON.
public enum ToolUseBlocks {
    /// The content blocks of a Messages API response (`{"content": [...]}`), an assistant
    /// message (`{"role": "assistant", "content": [...]}`) or a bare array of blocks; throws a
    /// ``MessageDecodingError`` naming what is wrong otherwise.
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
}

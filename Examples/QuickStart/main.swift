import AgentMemoryJSON
import AgentMemory

let memory = try await Memory("claude-agent")            // ~/.agent-memory/memory.sqlite
try await memory.set("user.name", "Ada")
let name: String? = try await memory.get("user.name")   // "Ada", in this process and the next

// Claude's side: offer executor.toolDefinitions, then answer its tool_use blocks.
let executor = memory.toolExecutor()                    // remember, recall, list_memory
let reply = try Message(jsonValue: JSONValue(parsing: """
    {"role": "assistant", "content": [
      {"type": "tool_use", "id": "toolu_1", "name": "remember", "input": {"key": "user.editor", "value": "Vim"}},
      {"type": "tool_use", "id": "toolu_2", "name": "recall", "input": {"key": "user.name"}}]}
    """))
var messages: [Message] = [.user("I use Vim."), reply]
messages.append(await executor.respond(to: reply))     // {"role":"user","content":[tool_result, tool_result]}
print(name ?? "", messages.last!.jsonValue.jsonString())

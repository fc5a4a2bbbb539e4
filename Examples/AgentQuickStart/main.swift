import AgentLoop
import ClaudeClient
import AgentMemory

// An agent whose memory survives restarts. Needs ANTHROPIC_API_KEY; run it twice.
let memory = try await Memory("my-agent", agent: "assistant")  // ~/.agent-memory/memory.sqlite
let loop = AgentLoop(
    client: try .fromEnvironment(),  // ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL
    executor: memory.toolExecutor(),  // remember, recall, list_memory
    configuration: AgentConfiguration(model: AgentConfiguration.defaultModel, system: "Remember what the user tells you."))
let session = try await AgentSession.open(  // saved after every step; same id = same conversation
    id: "quick-start", store: MemoryStoreSessionStore(store: memory.store, namespace: memory.namespace))
let prompt = CommandLine.arguments.dropFirst().joined(separator: " ")
let result = try await loop.run(prompt.isEmpty ? "What do you remember about me?" : prompt, in: session)
print(result.text)
print("[\(result.stopReason?.rawValue ?? "no call"), tokens \(result.usage)]")

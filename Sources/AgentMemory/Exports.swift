// `import AgentMemory` brings every layer: values and stores, the Messages API model, the
// memory tools and their executor, and the SQLite store.
@_exported import AgentMemoryCore
@_exported import AgentMemorySQLite
@_exported import AgentMemoryTools
@_exported import ClaudeMessages
@_exported import AgentMemoryJSON

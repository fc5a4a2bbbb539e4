import AgentMemory
import AgentMemoryRuntime
import Testing

/// Store URLs as written in `--store` or `AGENT_MEMORY_STORE`.
@Suite("StoreLocation")
struct StoreLocationTests {
    @Test func locationsParse() throws {
        #expect(try StoreLocation(parsing: "memory:") == .inMemory)
        #expect(try StoreLocation(parsing: "sqlite:/tmp/x.sqlite") == .sqlite(path: "/tmp/x.sqlite"))
        #expect(try StoreLocation(parsing: "sqlite:///tmp/x.sqlite") == .sqlite(path: "/tmp/x.sqlite"))
        #expect(try StoreLocation(parsing: "./relative.sqlite") == .sqlite(path: "./relative.sqlite"))
        #expect(try StoreLocation.fromEnvironment(["AGENT_MEMORY_HOME": "/tmp/h"]) == .sqlite(path: "/tmp/h/memory.sqlite"))
        #expect(try StoreLocation.fromEnvironment(["AGENT_MEMORY_STORE": "memory:"]) == .inMemory)
        #expect(throws: MemoryError.self) { try StoreLocation(parsing: "redis://localhost") }
    }

    @Test func theDescriptionIsTheURLWithoutItsPassword() throws {
        #expect(StoreLocation.inMemory.description == "memory:")
        #expect(StoreLocation.sqlite(path: "/tmp/x.sqlite").description == "sqlite:/tmp/x.sqlite")
        #expect(try StoreLocation(parsing: "postgres://agent:secret@db:5432/memory").description == "postgres://agent:***@db:5432/memory")
        #expect(try StoreLocation(parsing: "~/m.sqlite").isSQLite)
        #expect(!StoreLocation.inMemory.isSQLite)
    }
}

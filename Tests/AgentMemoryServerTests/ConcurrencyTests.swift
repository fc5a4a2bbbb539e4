import AgentMemory
import AgentMemoryServer
import Foundation
import Testing
import TestScratch

/// Many clients at once: no write lost, and compare-and-set increments end at the exact total.
@Suite struct ConcurrencyTests {
    static func sqliteStore() throws -> (SQLiteMemoryStore, String) {
        let path = Scratch.file("server")
        return (try SQLiteMemoryStore(path: path), path)
    }

    @Test func fiftyClientsWritingDistinctKeysLoseNothing() async throws {
        let (store, path) = try Self.sqliteStore()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await withLiveServer(store: store) { (client: HTTPTestClient) async throws in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask { try await client.put("/memory/crew/key-\(index)", value: .string("value \(index)")).status }
                }
                for try await status in group { #expect(status == 200) }
            }
            let keys = try #require(try await client.get("/memory/crew").json["keys"]?.arrayValue)
            #expect(keys.count == 50)
            #expect(Set(keys.compactMap(\.stringValue)) == Set((0..<50).map { "key-\($0)" }))
            for index in [0, 17, 49] {
                #expect(try await client.get("/memory/crew/key-\(index)").json["value"] == .string("value \(index)"))
            }
        }
    }

    @Test func fourClientsIncrementOneCounterWithIfMatch() async throws {
        let (store, path) = try Self.sqliteStore()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await withLiveServer(store: store) { (client: HTTPTestClient) async throws in
            try await incrementConcurrently(clients: [client, client, client, client], times: 25)
            let counter = try await client.get("/memory/crew/counter")
            #expect(counter.json["value"] == "100")
            #expect(counter.headers["etag"] == "\"101\"")
        }
    }
}

/// Each client adds 1 to `/memory/crew/counter` `times` times with GET then PUT If-Match,
/// retrying on 412. The counter is created first at "0".
func incrementConcurrently(clients: [HTTPTestClient], times: Int) async throws {
    _ = try await clients[0].put("/memory/crew/counter", value: "0", headers: [("If-Match", "\"0\"")])
    try await withThrowingTaskGroup(of: Void.self) { group in
        for client in clients {
            group.addTask {
                var done = 0
                while done < times {
                    let current = try await client.get("/memory/crew/counter")
                    guard current.status == 200, let etag = current.headers["etag"],
                          let value = current.json["value"]?.stringValue.flatMap(Int.init)
                    else { throw TestSocketError(description: "bad read \(current.status) \(current.text)") }
                    let write = try await client.put("/memory/crew/counter", value: .string(String(value + 1)), headers: [("If-Match", etag)])
                    if write.status == 200 {
                        done += 1
                    } else if write.status != 412 {
                        throw TestSocketError(description: "unexpected \(write.status) \(write.text)")
                    }
                }
            }
        }
        try await group.waitForAll()
    }
}

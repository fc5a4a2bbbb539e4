import AgentMemory
import Testing

/// The read log remembers what each agent last saw of each key, and past its limit forgets the
/// keys it saw longest ago, never the ones just seen.
@Suite("Agent read log")
struct AgentReadLogTests {
    static let namespace = try! Namespace("read-log")

    @Test func pastItsLimitTheLogForgetsTheKeysSeenLongestAgo() async throws {
        let log = AgentReadLog(maxKeys: 4)
        for index in 0..<4 {
            await log.saw([(key: try MemoryKey("k\(index)"), version: index + 1)], in: Self.namespace, agent: "a")
        }
        // Seen again: now the most recent, with its new version.
        await log.saw([(key: "k0", version: 9)], in: Self.namespace, agent: "a")
        // A fifth key: past the limit, the log keeps the two seen most recently.
        await log.saw([(key: "k4", version: 5)], in: Self.namespace, agent: "a")
        let keys: [MemoryKey] = ["k0", "k1", "k2", "k3", "k4"]
        #expect(await log.versions(of: keys, in: Self.namespace, agent: "a") == ["k0": 9, "k4": 5])
        #expect(await log.version(of: "k3", in: Self.namespace, agent: "a") == nil)
        // Other agents and namespaces have logs of their own.
        #expect(await log.versions(of: keys, in: Self.namespace, agent: "b").isEmpty)
    }

    @Test func aLimitOfOneKeepsTheLastKeySeen() async throws {
        let log = AgentReadLog(maxKeys: 1)
        await log.saw([(key: "first", version: 1), (key: "second", version: 2)], in: Self.namespace, agent: nil)
        #expect(await log.versions(of: ["first", "second"], in: Self.namespace, agent: nil) == ["second": 2])
    }
}

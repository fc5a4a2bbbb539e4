import AgentMemoryCore
import AgentMemoryJSON
import Foundation
import Testing

/// The write rule as a server-backed store runs it (``AsyncRecordWriter``), where statements of
/// one transaction interleave with other sessions'.
@Suite("Async write rule")
struct AsyncRecordWriterTests {
    /// A writer whose namespace holds three rows, one expired, until another session purges
    /// the expired one after the first count: its own purge then finds nothing to delete.
    final class PurgedMeanwhile: AsyncRecordWriter {
        var counts = 0
        var written: [WritePlan] = []

        func row(for key: MemoryKey) async throws -> CurrentRow? { nil }

        func usage() async throws -> NamespaceUsage {
            counts += 1
            return NamespaceUsage(keys: counts == 1 ? 3 : 2, bytes: 30)
        }

        func purgeExpired(now: Date) async throws -> Int { 0 }

        func write(_ plan: WritePlan, replacing row: CurrentRow?) async throws { written.append(plan) }
    }

    /// A write refused by the first count is counted again after the purge, even when the purge
    /// found nothing (another session had deleted the expired row in between): the PostgreSQL
    /// conformance check "quotas" failed this way once in CI, when the store's maintenance
    /// purged between the write's count and its purge.
    @Test func aQuotaIsCountedAgainAfterThePurgeEvenWhenAnotherSessionPurgedFirst() async throws {
        let limits = MemoryLimits(maxKeysPerNamespace: 3)
        let writer = PurgedMeanwhile()
        let write = try limits.prepare(.put(key: "d", value: "4"))
        let plan = try await writer.apply(write, limits: limits, namespace: Namespace("main"), now: Date())
        #expect(plan.key == "d")
        #expect(writer.written.map(\.key) == ["d"])
        #expect(writer.counts == 2)
    }

    /// Still over the quota after the purge: refused, nothing written.
    @Test func aWriteStillOverTheQuotaAfterThePurgeIsRefused() async throws {
        let limits = MemoryLimits(maxKeysPerNamespace: 2)
        let writer = PurgedMeanwhile()
        let write = try limits.prepare(.put(key: "d", value: "4"))
        let error = await #expect(throws: MemoryError.self) {
            try await writer.apply(write, limits: limits, namespace: Namespace("main"), now: Date())
        }
        #expect(error?.code == .quotaExceeded)
        #expect(error?.message == "Namespace \"main\" would hold 3 keys, the limit is 2 keys")
        #expect(writer.written.isEmpty)
    }
}

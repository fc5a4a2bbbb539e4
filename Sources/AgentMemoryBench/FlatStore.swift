import AgentMemoryJSON
import AgentMemory
import Foundation

/// A store that is only a locked dictionary, with no change log, ordering or search: under the
/// executor it leaves the executor's own cost (decode, validate, run, encode) to be measured.
/// Only `get`, `put` and `list` work; the rest throw.
final class FlatStore: MemoryStore {
    private let records = Locked<[String: MemoryRecord]>([:])
    let limits = MemoryLimits.default

    func get(_ key: MemoryKey, in namespace: Namespace) async throws -> MemoryRecord? {
        records.withLock { $0[key.rawValue] }
    }

    /// Puts only, each planned by the stores' write rule against the dictionary's record.
    func apply(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [WriteOutcome] {
        let prepared = try operations.map { operation in
            guard case .put = operation else { throw Self.unsupported }
            return try limits.prepare(operation)
        }
        let now = Date()
        return try records.withLock { records in
            try prepared.map { write in
                let row = records[write.key.rawValue].map { CurrentRow(stamp: RecordStamp($0), size: 0, value: $0.value) }
                let plan = try RecordTransition.plan(write, current: row, limits: limits, now: now)
                if case .store(let record, _, _) = plan.action { records[write.key.rawValue] = record }
                return plan.outcome
            }
        }
    }

    func commit(_ plans: [WritePlan], in namespace: Namespace) async throws { throw Self.unsupported }

    func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        MemoryPage(records: [], nextCursor: nil)
    }

    func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] { throw Self.unsupported }
    func namespaces() async throws -> [NamespaceSummary] { throw Self.unsupported }
    func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] { throw Self.unsupported }
    func history(of key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] { throw Self.unsupported }
    func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        AsyncThrowingStream { $0.finish(throwing: Self.unsupported) }
    }

    private static var unsupported: MemoryError { MemoryError(.unavailable, "the bench's flat store supports only get, puts and list") }
}

import AgentMemory
import Foundation
import Synchronization

/// A store that is only a locked dictionary, with no change log, ordering or search: under the
/// executor it leaves the executor's own cost (decode, validate, run, encode) to be measured.
/// Only `get`, `put` and `list` work; the rest throw.
final class FlatStore: MemoryStore {
    private let records = Mutex<[String: MemoryRecord]>([:])
    let limits = MemoryLimits.default

    func get(_ key: String, in namespace: Namespace) async throws -> MemoryRecord? {
        records.withLock { $0[key] }
    }

    func put(_ key: String, value: JSONValue, in namespace: Namespace, options: PutOptions) async throws -> MemoryRecord {
        let now = Date()
        return records.withLock { records in
            let previous = records[key]
            let record = MemoryRecord(
                key: key, value: value, version: (previous?.version ?? 0) + 1, createdAt: previous?.createdAt ?? now, updatedAt: now,
                author: options.author)
            records[key] = record
            return record
        }
    }

    func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        MemoryPage(records: [], nextCursor: nil)
    }

    func batch(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [MemoryOperationResult] {
        var results: [MemoryOperationResult] = []
        for operation in operations {
            guard case .put(let key, let value, let options) = operation else { throw Self.unsupported }
            results.append(.put(try await put(key, value: value, in: namespace, options: options)))
        }
        return results
    }

    func delete(_ key: String, in namespace: Namespace, ifVersion: Int?, author: String?) async throws -> Bool { throw Self.unsupported }
    func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] { throw Self.unsupported }
    func namespaces() async throws -> [NamespaceSummary] { throw Self.unsupported }
    func append(_ key: String, value: JSONValue, in namespace: Namespace, options: AppendOptions) async throws -> MemoryRecord {
        throw Self.unsupported
    }
    func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] { throw Self.unsupported }
    func history(of key: String, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] { throw Self.unsupported }
    func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        AsyncThrowingStream { $0.finish(throwing: Self.unsupported) }
    }

    private static var unsupported: MemoryError { MemoryError(.unavailable, "the bench's flat store supports only get, put and list") }
}

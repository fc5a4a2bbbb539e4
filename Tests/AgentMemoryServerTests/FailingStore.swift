import AgentMemory

/// A store whose every call fails with `code`: how the server answers store failures.
struct FailingStore: MemoryStore {
    let code: MemoryError.Code
    var limits: MemoryLimits { .default }

    private var failure: MemoryError { MemoryError(code, "the store failed (\(code))") }

    func get(_ key: MemoryKey, in namespace: Namespace) async throws -> MemoryRecord? { throw failure }
    func apply(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [WriteOutcome] { throw failure }
    func commit(_ plans: [WritePlan], in namespace: Namespace) async throws { throw failure }
    func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage { throw failure }
    func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] { throw failure }
    func namespaces() async throws -> [NamespaceSummary] { throw failure }
    func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] { throw failure }
    func history(of key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] { throw failure }
    func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        AsyncThrowingStream { $0.finish(throwing: failure) }
    }
}

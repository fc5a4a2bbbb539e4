import AgentMemoryJSON
import AgentMemoryCore
import Foundation

/// What a memory tool call runs against: the store, namespace and agent the executor is bound
/// to, and, during a turn, the turn's staged batch. Reads and writes go through the batch when
/// there is one, so a call sees the turn's earlier writes; versions seen are recorded in the
/// read log once the turn commits.
final class ToolContext {
    let store: any MemoryStore
    let namespace: Namespace
    let agent: String?
    let readOnly: Bool
    let readLog: AgentReadLog
    let clock: @Sendable () -> Date
    /// The turn's staged writes, or `nil` when calls go straight to the store.
    let turn: StagedBatch?
    /// What the read log held at the start of the turn for every key the turn names (one
    /// look-up for the turn instead of one per call); `nil` outside such a turn.
    var lastSeenAtTurnStart: [MemoryKey: Int]?
    /// Versions seen by staged calls, recorded when the turn commits.
    private(set) var pendingSeen: [(key: MemoryKey, version: Int)] = []

    init(
        store: any MemoryStore, namespace: Namespace, agent: String?, readOnly: Bool, readLog: AgentReadLog,
        clock: @escaping @Sendable () -> Date, turn: StagedBatch?
    ) {
        self.store = store
        self.namespace = namespace
        self.agent = agent
        self.readOnly = readOnly
        self.readLog = readLog
        self.clock = clock
        self.turn = turn
    }

    /// The live record under `key`, as the turn sees it.
    func get(_ key: MemoryKey) async throws -> MemoryRecord? {
        if let turn { return try await turn.get(key) }
        return try await store.get(key, in: namespace)
    }

    /// Writes (or, in a turn, stages) one operation.
    func write(_ operation: MemoryOperation) async throws -> WriteOutcome {
        if let turn { return try await turn.stage(operation) }
        return try await store.write(operation, in: namespace)
    }

    /// The version of `key` this agent last read or wrote.
    func lastSeen(_ key: MemoryKey) async -> Int? {
        // Staged calls record what they see only at commit, so the log as the turn started is
        // what a per-call look-up would find.
        if let lastSeenAtTurnStart { return lastSeenAtTurnStart[key] }
        return await readLog.version(of: key, in: namespace, agent: agent)
    }

    /// Records that this agent has seen `version` of `key` (in a turn: once it commits).
    func noteSeen(_ key: MemoryKey, version: Int) async {
        if turn != nil {
            pendingSeen.append((key, version))
        } else {
            await readLog.saw([(key, version)], in: namespace, agent: agent)
        }
    }

    /// A page of keys the model may see: reserved keys are skipped (they form one contiguous
    /// range in byte order, which is jumped over at once).
    func visiblePage(prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        var records: [MemoryRecord] = []
        var cursor = cursor
        while true {
            let page = try await store.list(in: namespace, prefix: prefix, cursor: cursor, limit: limit - records.count)
            for record in page.records where !ReservedKeys.isReserved(record.key) { records.append(record) }
            guard let next = page.nextCursor else { return MemoryPage(records: records, nextCursor: nil) }
            if records.count == limit {
                return MemoryPage(records: records, nextCursor: next)
            }
            // A page that ends inside the reserved range jumps past the rest of it; otherwise
            // the listing goes on from where the page ended (jumping back would repeat keys).
            let endsReserved = page.records.last.map { ReservedKeys.isReserved($0.key) } ?? false
            cursor = endsReserved ? ListCursor.encode(afterKey: Self.endOfReservedRange) : next
        }
    }

    /// A key greater than every reserved key the library writes.
    private static let endOfReservedRange = ReservedKeys.prefix + String(repeating: "\u{10FFFF}", count: 130)

    /// A time as `2026-11-25 20:01 UTC`, as shown to Claude.
    static func shortTime(_ date: Date) -> String {
        let text = MemoryRecord.formatDate(date)  // 2026-11-25T20:01:28.000Z
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5)) + " UTC"
    }
}

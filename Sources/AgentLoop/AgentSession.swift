import AgentMemoryCore
import AgentMemoryJSON
import ClaudeClient
import ClaudeMessages
import Foundation

/// One conversation of an agent, saved after every step when it has a ``SessionStore``.
///
/// Open the same id again (in a new process, over the same store) to continue where it stopped.
public actor AgentSession {
    /// The session id.
    public nonisolated let id: String
    /// Where it is saved, or `nil` for a session kept only in memory.
    public nonisolated let store: (any SessionStore)?
    /// The conversation so far.
    public private(set) var transcript: SessionTranscript
    private var savedMessageCount: Int
    private let clock: @Sendable () -> Date

    /// A session kept only in memory (never saved); `clock` stamps its times.
    public init(id: String = UUID().uuidString.lowercased(), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.id = id
        store = nil
        transcript = SessionTranscript(id: id, now: clock())
        savedMessageCount = 0
        self.clock = clock
    }

    private init(transcript: SessionTranscript, store: any SessionStore, clock: @escaping @Sendable () -> Date) {
        id = transcript.id
        self.store = store
        self.transcript = transcript
        savedMessageCount = transcript.messages.count
        self.clock = clock
    }

    /// Opens session `id` from `store`: the saved transcript when there is one, else a new,
    /// empty session (saved at its first step). `clock` stamps the session's times.
    public static func open(
        id: String, store: any SessionStore, clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> AgentSession {
        try SessionError.validate(id: id)
        let transcript = try await store.load(id) ?? SessionTranscript(id: id, now: clock())
        return AgentSession(transcript: transcript, store: store, clock: clock)
    }

    /// The messages so far.
    public var messages: [Message] { transcript.messages }

    /// Appends messages and saves. `stopReason` is the stop reason of an appended assistant
    /// turn (`nil` after a user turn); `usage` is added to the session's total; `contextMarks`,
    /// when given, replace the saved marks of the latest request.
    public func append(
        _ messages: [Message], stopReason: StopReason? = nil, usage: Usage = .zero, contextMarks: ContextMarks? = nil
    ) async throws {
        transcript.messages += messages
        if let contextMarks { transcript.contextMarks = contextMarks }
        transcript.lastStopReason = stopReason
        transcript.usage += usage
        transcript.updatedAt = clock()
        guard let store else { return }
        transcript = try await store.save(transcript, savedMessageCount: savedMessageCount)
        savedMessageCount = transcript.messages.count
    }
}

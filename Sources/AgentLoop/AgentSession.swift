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

    /// A session kept only in memory (never saved).
    public init(id: String = UUID().uuidString.lowercased()) {
        self.id = id
        store = nil
        transcript = SessionTranscript(id: id)
        savedMessageCount = 0
    }

    private init(transcript: SessionTranscript, store: any SessionStore) {
        id = transcript.id
        self.store = store
        self.transcript = transcript
        savedMessageCount = transcript.messages.count
    }

    /// Opens session `id` from `store`: the saved transcript when there is one, else a new,
    /// empty session (saved at its first step).
    public static func open(id: String, store: any SessionStore) async throws -> AgentSession {
        try SessionError.validate(id: id)
        let transcript = try await store.load(id) ?? SessionTranscript(id: id)
        return AgentSession(transcript: transcript, store: store)
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
        transcript.updatedAt = Date()
        guard let store else { return }
        transcript = try await store.save(transcript, savedMessageCount: savedMessageCount)
        savedMessageCount = transcript.messages.count
    }
}

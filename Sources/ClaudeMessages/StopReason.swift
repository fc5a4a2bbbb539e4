/// Why the model stopped: an open set, so a reason added to the API later is kept (and stops
/// the agent loop) rather than rejected.
public struct StopReason: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The API name.
    public let rawValue: String
    /// Creates a stop reason from its API name.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Creates a stop reason from a literal API name.
    public init(stringLiteral value: String) { rawValue = value }
    /// The API name.
    public var description: String { rawValue }

    /// The model finished its turn.
    public static let endTurn: StopReason = "end_turn"
    /// The model wants client tools run; the next user turn must carry their results.
    public static let toolUse: StopReason = "tool_use"
    /// The response reached `max_tokens`.
    public static let maxTokens: StopReason = "max_tokens"
    /// The model wrote one of the request's `stop_sequences`.
    public static let stopSequence: StopReason = "stop_sequence"
    /// A long server-tool turn was paused; send the turn back as it is to continue.
    public static let pauseTurn: StopReason = "pause_turn"
    /// The model declined to continue.
    public static let refusal: StopReason = "refusal"
    /// Compaction paused the turn (`pause_after_compaction`); send the turn back to continue
    /// (`types/beta/beta_stop_reason.py` of the `anthropic` 2.14.0 Python package).
    public static let compaction: StopReason = "compaction"
    /// The conversation filled the model's context window.
    public static let modelContextWindowExceeded: StopReason = "model_context_window_exceeded"
}

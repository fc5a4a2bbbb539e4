/// Keys the library keeps for itself inside a namespace (agent-loop session transcripts and
/// the like). The memory tools refuse them as input and never show them to the model.
public enum ReservedKeys {
    /// Every reserved key starts with this prefix.
    public static let prefix = "_agent_memory/"

    /// Whether `key` is reserved for the library.
    public static func isReserved(_ key: String) -> Bool {
        key.hasBytePrefix(prefix)
    }
}

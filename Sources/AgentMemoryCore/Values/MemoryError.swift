/// An error from a memory store, a namespace or key check, or a limit.
///
/// A struct with an open set of codes (not a closed enum), so new kinds of error do not
/// break callers that switch on ``code``. The ``message`` is written for people and for
/// Claude: it says what is wrong and, for limits, the limit and the actual size.
public struct MemoryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of error this is.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The code's stable identifier.
        public let rawValue: String
        /// Creates a code.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The identifier.
        public var description: String { rawValue }

        /// A namespace name that does not follow the rules.
        public static let invalidNamespace = Code(rawValue: "invalid_namespace")
        /// A key that is empty, too long or contains control characters.
        public static let invalidKey = Code(rawValue: "invalid_key")
        /// A value larger than the configured limit.
        public static let valueTooLarge = Code(rawValue: "value_too_large")
        /// A namespace quota (keys or bytes) would be exceeded.
        public static let quotaExceeded = Code(rawValue: "quota_exceeded")
        /// A compare-and-set found another version; see ``MemoryError/currentVersion``.
        public static let versionConflict = Code(rawValue: "version_conflict")
        /// An argument such as a cursor, limit or TTL is not acceptable.
        public static let invalidArgument = Code(rawValue: "invalid_argument")
        /// The caller may only read here.
        public static let readOnly = Code(rawValue: "read_only")
        /// The caller may not use this namespace at all.
        public static let accessDenied = Code(rawValue: "access_denied")
        /// The store could not be opened or reached.
        public static let unavailable = Code(rawValue: "unavailable")
        /// The backend failed while reading or writing.
        public static let storage = Code(rawValue: "storage")
        /// A store location (URL) that cannot be understood.
        public static let invalidLocation = Code(rawValue: "invalid_location")
    }

    /// What kind of error this is.
    public let code: Code
    /// A complete sentence saying what is wrong.
    public let message: String
    /// For ``Code/versionConflict``: the version the key has now (0 when it does not exist).
    public var currentVersion: Int?
    /// For ``Code/versionConflict``: the author of the current version, when known.
    public var currentAuthor: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, currentVersion: Int? = nil, currentAuthor: String? = nil) {
        self.code = code
        self.message = message
        self.currentVersion = currentVersion
        self.currentAuthor = currentAuthor
    }

    /// The message.
    public var description: String { message }

    /// A compare-and-set conflict on `key`.
    public static func conflict(key: String, expected: Int, current: Int, author: String?) -> MemoryError {
        let now = current == 0 ? "it does not exist" : "it is at version \(current)" + (author.map { " (written by \($0))" } ?? "")
        let wanted = expected == 0 ? "expected it not to exist" : "expected version \(expected)"
        return MemoryError(
            .versionConflict, "Version conflict on key \"\(key)\": \(wanted), but \(now)",
            currentVersion: current, currentAuthor: author)
    }
}

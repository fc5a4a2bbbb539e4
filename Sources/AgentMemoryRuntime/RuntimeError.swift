/// A runtime failure whose message says what to do, and whose kind says who must act: the
/// person configuring (a bad flag or variable), the sender of the input, or nobody (the store
/// could not be reached).
public struct RuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Who must act on an error; an open set, so new kinds do not break callers.
    public struct Kind: RawRepresentable, Sendable, Hashable {
        /// The raw name, such as `invalid_configuration`.
        public let rawValue: String

        /// Wraps a raw name.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A flag or environment variable is wrong; fix it and try again (the CLI exits 2).
        public static let invalidConfiguration = Kind(rawValue: "invalid_configuration")
        /// The store could not be opened or reached (the CLI exits 1).
        public static let unavailable = Kind(rawValue: "unavailable")
    }

    /// Who must act.
    public let kind: Kind
    /// What went wrong and what to do, in one or two sentences.
    public let message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

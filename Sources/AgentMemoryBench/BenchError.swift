/// A measure that did not behave as scripted (a get that found nothing in a filled namespace,
/// a process that failed), or a benchmark file that could not be made.
public struct BenchError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

import Foundation

/// How a put behaves (``MemoryStore/put(_:value:in:options:)``).
public struct PutOptions: Sendable, Hashable {
    /// Compare-and-set: the version the key must have now (`0`: must not exist), or `nil`.
    public var ifVersion: Int?
    /// How long the record lives, or `nil` to keep it until deleted.
    public var ttl: Duration?
    /// The agent id recorded as the writer.
    public var author: String?

    /// Creates options; by default an unconditional write with no TTL and no author.
    public init(ifVersion: Int? = nil, ttl: Duration? = nil, author: String? = nil) {
        self.ifVersion = ifVersion
        self.ttl = ttl
        self.author = author
    }

    /// An unconditional write with no TTL and no author.
    public static let none = PutOptions()

    /// The expiry time for a write at `now`, or `nil` without a TTL.
    public func expiry(from now: Date) -> Date? {
        guard let ttl else { return nil }
        let (seconds, attoseconds) = ttl.components
        return now.addingTimeInterval(Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// Throws ``MemoryError/Code/invalidArgument`` for a negative `ifVersion` or a TTL that is
    /// not positive.
    public func validate() throws {
        if let ifVersion, ifVersion < 0 {
            throw MemoryError(.invalidArgument, "ifVersion must be 0 (must not exist) or a version >= 1, got \(ifVersion)")
        }
        if let ttl, ttl <= .zero {
            throw MemoryError(.invalidArgument, "ttl must be positive, got \(ttl)")
        }
    }
}

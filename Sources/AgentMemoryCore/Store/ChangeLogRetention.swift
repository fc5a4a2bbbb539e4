import Foundation

/// How long a store keeps its change log.
public struct ChangeLogRetention: Sendable, Hashable {
    /// Entries older than this are dropped; `nil` keeps them regardless of age.
    public var maxAge: Duration?
    /// At most this many of the newest entries are kept per namespace; `nil` for no limit.
    public var maxEntriesPerNamespace: Int?

    /// Creates a retention policy.
    public init(maxAge: Duration? = .seconds(30 * 86_400), maxEntriesPerNamespace: Int? = 1_000_000) {
        self.maxAge = maxAge
        self.maxEntriesPerNamespace = maxEntriesPerNamespace
    }

    /// The default: 30 days, and at most 1,000,000 entries per namespace.
    public static let `default` = ChangeLogRetention()

    /// Keep everything.
    public static let forever = ChangeLogRetention(maxAge: nil, maxEntriesPerNamespace: nil)

    /// The oldest time kept at `now`, or `nil` when age does not matter.
    public func cutoff(at now: Date) -> Date? {
        guard let maxAge else { return nil }
        let (seconds, attoseconds) = maxAge.components
        return now.addingTimeInterval(-(Double(seconds) + Double(attoseconds) / 1e18))
    }
}

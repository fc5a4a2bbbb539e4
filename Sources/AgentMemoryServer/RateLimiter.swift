import Foundation

/// Token buckets, one per caller: each refills at ``RateLimit/perSecond`` up to
/// ``RateLimit/burst``; a request takes one token or is refused with the wait until the next.
actor RateLimiter {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let rate: RateLimit
    private let clock = ContinuousClock()
    private var buckets: [String: Bucket] = [:]

    init(rate: RateLimit) {
        self.rate = rate
    }

    /// `nil` when `key` may make a request now (and takes a token), else the whole seconds
    /// (at least 1) to wait, for `Retry-After`.
    func admit(_ key: String) -> Int? {
        let now = clock.now
        var bucket = buckets[key] ?? Bucket(tokens: rate.burst, updated: now)
        let elapsed = bucket.updated.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        bucket.tokens = min(rate.burst, bucket.tokens + seconds * rate.perSecond)
        bucket.updated = now
        defer { buckets[key] = bucket }
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            return nil
        }
        if buckets.count > 100_000 { buckets = buckets.filter { $0.value.tokens < rate.burst } }
        return max(1, Int(((1 - bucket.tokens) / rate.perSecond).rounded(.up)))
    }
}

import Foundation

/// When and how long the client waits before retrying, as the official SDKs do.
public enum RetryPolicy {
    /// Whether a response with `status` should be retried: `x-should-retry: true/false` decides
    /// when present, else 408, 409, 429 and every 5xx (529 "overloaded" included) are retried.
    public static func shouldRetry(status: Int, headers: TransportHeaders) -> Bool {
        switch headers["x-should-retry"]?.lowercased() {
        case "true": return true
        case "false": return false
        default: return status == 408 || status == 409 || status == 429 || status >= 500
        }
    }

    /// The wait before retry number `retry` (0 for the first retry): `retry-after-ms`
    /// (milliseconds), else `retry-after` (seconds or an HTTP date), when under a minute;
    /// else `min(0.5 * 2^retry, 8)` seconds times `jitter` (a number in [0.75, 1]).
    public static func delay(retry: Int, headers: TransportHeaders?, jitter: Double, now: Date = Date()) -> Duration {
        if let headers, let seconds = serverRequestedDelay(headers, now: now), seconds >= 0, seconds < 60 {
            return .milliseconds(Int64((seconds * 1000).rounded()))
        }
        let base = min(0.5 * pow(2, Double(max(0, min(retry, 30)))), 8)
        return .milliseconds(Int64((base * jitter * 1000).rounded()))
    }

    /// The delay in seconds that `retry-after-ms` or `retry-after` asks for, if any.
    static func serverRequestedDelay(_ headers: TransportHeaders, now: Date) -> Double? {
        if let text = headers["retry-after-ms"], let milliseconds = Double(text.trimmingCharacters(in: .whitespaces)) {
            return milliseconds / 1000
        }
        guard let text = headers["retry-after"]?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(text) { return seconds }
        guard let date = parseHTTPDate(text) else { return nil }
        return date.timeIntervalSince(now)
    }

    /// Parses an IMF-fixdate such as `Wed, 21 Oct 2015 07:28:00 GMT`.
    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}

/// The clock, sleep and jitter the client's retries use; tests inject fast, recorded ones.
public struct RetryTiming: Sendable {
    /// Waits for a duration (throws when the task is cancelled).
    public var sleep: @Sendable (Duration) async throws -> Void
    /// A random factor in [0.75, 1].
    public var jitter: @Sendable () -> Double
    /// The current time (for `retry-after` dates).
    public var now: @Sendable () -> Date

    /// Creates a timing.
    public init(
        sleep: @escaping @Sendable (Duration) async throws -> Void,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.75...1) },
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.sleep = sleep
        self.jitter = jitter
        self.now = now
    }

    /// Real sleeping, random jitter and the system clock.
    public static let live = RetryTiming(sleep: { try await Task.sleep(for: $0) })
}

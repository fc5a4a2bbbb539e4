import Foundation

/// Stretches a test's upper bounds (hang guards, connection limits, deadlines) by
/// `AGENT_MEMORY_TEST_TIME_SCALE` for slow runs such as `scripts/reliability/sanitizers.sh`;
/// never what a test asserts about results.
public enum TestTimeScale {
    /// `AGENT_MEMORY_TEST_TIME_SCALE` when it is a number of at least 1, else 1.
    public static let factor: Double = {
        guard let text = ProcessInfo.processInfo.environment["AGENT_MEMORY_TEST_TIME_SCALE"], let value = Double(text),
            value.isFinite, value >= 1
        else { return 1 }
        return value
    }()

    /// The sanitizer the tests run under (`AGENT_MEMORY_TEST_SANITIZER`: `thread`, `address`), else `nil`.
    public static let sanitizer: String? = {
        guard let text = ProcessInfo.processInfo.environment["AGENT_MEMORY_TEST_SANITIZER"], !text.isEmpty else { return nil }
        return text
    }()

    /// `seconds` times ``factor``.
    public static func seconds(_ seconds: Double) -> Double { seconds * factor }

    /// `duration` times ``factor``.
    public static func scaled(_ duration: Duration) -> Duration {
        factor == 1 ? duration : duration * factor
    }
}

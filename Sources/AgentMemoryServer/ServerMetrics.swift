import AgentMemoryCore
import CoreMetrics
import Metrics
import Prometheus

/// The server's metrics, kept in its own Prometheus registry through swift-metrics (no global
/// `MetricsSystem` bootstrap: a library leaves that to the executable) and served at `/metrics`.
struct ServerMetrics: Sendable {
    /// The registry `/metrics` renders.
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    /// The counter and timer of each method, route and status seen, made once: made for every
    /// request, they were looked up in the registry each time (its lock, the name's
    /// validation, the labels' strings), 3.4% of the server's processor time under a stream of
    /// GETs (BENCHMARKS.md, round forty-six). Routes are patterns and statuses few, so the
    /// table stays small.
    private let requestHandles = Locked<[RequestKey: (requests: CoreMetrics.Counter, duration: CoreMetrics.Timer)]>([:])

    private struct RequestKey: Hashable {
        let method: String
        let route: String
        let status: Int
    }

    init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Requests on loopback take well under a millisecond: finer buckets than the default.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        self.factory = factory
    }

    /// Counts one request of `route` (a pattern such as `/memory/{namespace}/{key}`) answered
    /// with `status`, and records how long it took.
    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let key = RequestKey(method: method, route: route, status: status)
        let handles = requestHandles.withLock { table in
            if let handles = table[key] { return handles }
            let handles = (
                requests: CoreMetrics.Counter(
                    label: "agent_memory_http_requests_total",
                    dimensions: [("method", method), ("route", route), ("status", String(status))], factory: factory),
                duration: CoreMetrics.Timer(
                    label: "agent_memory_http_request_duration_seconds", dimensions: [("method", method), ("route", route)],
                    factory: factory))
            table[key] = handles
            return handles
        }
        handles.requests.increment()
        handles.duration.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// Counts a store call that failed with `code` (a ``MemoryError`` code, or `other`).
    func recordStoreError(code: String) {
        CoreMetrics.Counter(label: "agent_memory_store_errors_total", dimensions: [("code", code)], factory: factory).increment()
    }

    /// The Prometheus text exposition of every metric.
    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An ``HTTPTransport`` over `URLSession`, streaming bodies through a `URLSessionDataDelegate`
/// (Linux has no `URLSession.bytes(for:)`).
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    // `@unchecked`: `session` and `delegate` are set once; the delegate guards its state with a lock.
    private let session: URLSession
    private let delegate: StreamingDelegate

    /// Creates a transport with its own session (ephemeral: no cookies, no cache).
    public init(configuration: URLSessionConfiguration = .ephemeral) {
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        delegate = StreamingDelegate()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
    }

    deinit {
        // The session keeps its delegate alive until invalidated.
        session.finishTasksAndInvalidate()
    }

    /// Sends the request; see ``HTTPTransport/send(_:)``.
    public func send(_ request: TransportRequest) async throws -> TransportResponse {
        let seconds = Double(request.timeout.components.seconds) + Double(request.timeout.components.attoseconds) / 1e18
        var urlRequest = URLRequest(url: request.url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: seconds)
        urlRequest.httpMethod = request.method
        for field in request.headers { urlRequest.addValue(field.value, forHTTPHeaderField: field.name) }
        urlRequest.httpBody = request.body
        let task = session.dataTask(with: urlRequest)
        let exchange = Exchange(task: task, idleTimeout: seconds)
        delegate.register(exchange, for: task.taskIdentifier)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                exchange.start(continuation)
            }
        } onCancel: {
            exchange.cancel()
        }
    }
}

/// The state of one request: waiting for the head, then streaming the body.
private final class Exchange: @unchecked Sendable {
    // `@unchecked`: every mutable member is guarded by `lock`.
    private let lock = NSLock()
    private let task: URLSessionDataTask
    private var head: CheckedContinuation<TransportResponse, any Error>?
    private var headDone = false
    private var cancelled = false
    private var timedOut = false
    private let idleTimeout: Double
    private let watchdog: any DispatchSourceTimer
    private let body: AsyncThrowingStream<Data, any Error>
    private let bodyContinuation: AsyncThrowingStream<Data, any Error>.Continuation
    /// Where the timeouts fire: a serial queue of their own, which Dispatch gives a thread
    /// whenever it has work. On the global queue, which runs only a few items at a time on
    /// Linux, a timeout waited behind whatever kept that queue busy (the host's work, or a
    /// loaded test run), and a late answer could arrive before it fired.
    private static let watchdogQueue = DispatchQueue(label: "ClaudeClient.URLSessionTransport.timeouts")

    init(task: URLSessionDataTask, idleTimeout: Double) {
        self.task = task
        self.idleTimeout = idleTimeout
        // Our own idle timeout: URLSession on Linux does not apply a request's `timeoutInterval`.
        watchdog = DispatchSource.makeTimerSource(queue: Self.watchdogQueue)
        (body, bodyContinuation) = AsyncThrowingStream.makeStream(of: Data.self)
        let task = UncheckedBox(task)
        bodyContinuation.onTermination = { termination in
            // The reader stopped early: stop the transfer too.
            if case .cancelled = termination { task.value.cancel() }
        }
    }

    func start(_ continuation: CheckedContinuation<TransportResponse, any Error>) {
        lock.lock()
        if cancelled {
            headDone = true
            lock.unlock()
            watchdog.resume()  // a suspended source must not be released
            watchdog.cancel()
            continuation.resume(throwing: CancellationError())
            return
        }
        head = continuation
        lock.unlock()
        watchdog.setEventHandler { [weak self] in self?.timeOut() }
        watchdog.schedule(deadline: .now() + idleTimeout)
        watchdog.resume()
        task.resume()
    }

    /// Something arrived: the idle timeout starts again.
    private func touch() {
        watchdog.schedule(deadline: .now() + idleTimeout)
    }

    private func timeOut() {
        lock.lock()
        timedOut = true
        lock.unlock()
        task.cancel()
    }

    func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
        task.cancel()
    }

    func receive(response: URLResponse) {
        touch()
        let http = response as? HTTPURLResponse
        var headers = TransportHeaders()
        for (name, value) in http?.allHeaderFields ?? [:] {
            headers.add(String(describing: name), String(describing: value))
        }
        let result = TransportResponse(status: http?.statusCode ?? 0, headers: headers, body: body)
        lock.lock()
        let continuation = head
        head = nil
        headDone = true
        lock.unlock()
        continuation?.resume(returning: result)
    }

    func receive(data: Data) {
        touch()
        bodyContinuation.yield(data)
    }

    func complete(error: (any Error)?) {
        lock.lock()
        let continuation = head
        head = nil
        let wasCancelled = cancelled
        let wasTimedOut = timedOut
        headDone = true
        lock.unlock()
        watchdog.cancel()
        let failure: (any Error)? = error.map {
            wasTimedOut ? HTTPTransportError(isTimeout: true, "no data arrived for \(idleTimeout) s") : Self.transportError($0, cancelled: wasCancelled)
        }
        if let continuation {
            continuation.resume(throwing: failure ?? HTTPTransportError("the connection closed before a response arrived"))
        }
        if let failure {
            bodyContinuation.finish(throwing: failure)
        } else {
            bodyContinuation.finish()
        }
    }

    private static func transportError(_ error: any Error, cancelled: Bool) -> any Error {
        if cancelled { return CancellationError() }
        if let urlError = error as? URLError {
            switch urlError.code {
            case .cancelled: return CancellationError()
            case .timedOut: return HTTPTransportError(isTimeout: true, "the request timed out")
            default: return HTTPTransportError("connection error: \(urlError.localizedDescription) (URLError \(urlError.code.rawValue))")
            }
        }
        return HTTPTransportError("connection error: \(error.localizedDescription)")
    }
}

/// Hands a value that is not `Sendable` but safe to use from any thread (a URLSession task)
/// to a `@Sendable` closure.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Routes the session's delegate callbacks to the exchange of each task.
private final class StreamingDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // `@unchecked`: `exchanges` is guarded by `lock`.
    private let lock = NSLock()
    private var exchanges: [Int: Exchange] = [:]

    func register(_ exchange: Exchange, for id: Int) {
        lock.lock()
        exchanges[id] = exchange
        lock.unlock()
    }

    private func exchange(_ id: Int, remove: Bool = false) -> Exchange? {
        lock.lock()
        defer { lock.unlock() }
        return remove ? exchanges.removeValue(forKey: id) : exchanges[id]
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        exchange(dataTask.taskIdentifier)?.receive(response: response)
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        exchange(dataTask.taskIdentifier)?.receive(data: data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        exchange(task.taskIdentifier, remove: true)?.complete(error: error)
    }
}

import AgentMemoryJSON
import ClaudeMessages
import Foundation
import Logging

/// A Messages API client: `POST /v1/messages`, with retries like the official SDKs, typed
/// errors, and streaming through server-sent events.
///
/// ```swift
/// let client = try ClaudeClient.fromEnvironment()
/// let response = try await client.createMessage(MessageRequest(
///     model: "claude-sonnet-5-5", maxTokens: 1024, messages: [.user("Hello")]))
/// ```
public struct ClaudeClient: Sendable {
    /// Where and how requests are sent.
    public let configuration: ClaudeConfiguration
    /// The HTTP transport.
    public let transport: any HTTPTransport
    /// Sleep, jitter and clock for retries.
    public let retryTiming: RetryTiming
    /// Where retries and failures are logged (never the API key); nothing by default.
    public let logger: Logger

    /// Creates a client; by default over a new ``URLSessionTransport`` with real sleeps.
    public init(
        configuration: ClaudeConfiguration, transport: (any HTTPTransport)? = nil, retryTiming: RetryTiming = .live,
        logger: Logger = Logger(label: "AgentMemory.claude-client", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.configuration = configuration
        self.transport = transport ?? URLSessionTransport()
        self.retryTiming = retryTiming
        self.logger = logger
    }

    /// A client configured from `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ClaudeClient {
        ClaudeClient(configuration: try ClaudeConfiguration.fromEnvironment(environment))
    }

    /// Sends `request` without streaming and returns the response.
    public func createMessage(_ request: MessageRequest) async throws -> MessageResponse {
        try await send(request, streaming: false, onEvent: nil)
    }

    /// Sends `request` as a stream, calls `onEvent` as text, thinking and tool input arrive, and
    /// returns the assembled response (the same as ``createMessage(_:)`` would return).
    ///
    /// A stream cut before `message_stop` is retried only while nothing has been passed to
    /// `onEvent`; after that it throws ``ClaudeAPIError/Kind/streamInterrupted``. An `error` event
    /// in the stream is thrown as an ``ClaudeAPIError/Kind/api`` error and not retried, as the
    /// official SDKs do.
    public func streamMessage(
        _ request: MessageRequest, onEvent: @escaping @Sendable (MessageStreamEvent) -> Void = { _ in }
    ) async throws -> MessageResponse {
        try await send(request, streaming: true, onEvent: onEvent)
    }

    /// Sends `request`, streamed or not; see ``createMessage(_:)`` and ``streamMessage(_:onEvent:)``.
    /// `betas` are sent in `anthropic-beta` after the configuration's own.
    public func send(
        _ request: MessageRequest, streaming: Bool, onEvent: (@Sendable (MessageStreamEvent) -> Void)?, betas: [String] = []
    ) async throws -> MessageResponse {
        var request = request
        request.stream = streaming ? true : nil
        return try await withRetries(url: configuration.messagesURL, body: request.jsonValue, streaming: streaming, betas: betas) {
            try await attempt($0, streaming: streaming, onEvent: onEvent)
        }
    }

    /// The number of input tokens `request` would take (its system prompt, tools and messages),
    /// from `POST /v1/messages/count_tokens`, with the same retries and errors as ``send(_:streaming:onEvent:betas:)``.
    ///
    /// Only the fields the endpoint takes are sent (`max_tokens`, `temperature`, `stream` and the
    /// like are left out). When `betas` (or the configuration's) are given, `token-counting-2024-11-01`
    /// is added to them, as `resources/beta/messages/messages.py` `count_tokens` does in the
    /// `anthropic` 2.14.0 Python package; the response is `{"input_tokens": N}` (`types/message_tokens_count.py`).
    public func countTokens(_ request: MessageRequest, betas: [String] = []) async throws -> Int {
        // The body fields of `count_tokens` in resources/messages/messages.py and (beta fields:
        // context_management, compaction, mcp_servers) resources/beta/messages/messages.py.
        let accepted: Set<String> = [
            "messages", "model", "system", "thinking", "tool_choice", "tools", "cache_control", "output_config", "speed",
            "context_management", "compaction", "mcp_servers",
        ]
        let full = request.jsonValue.objectValue ?? [:]
        let body = JSONObject(full.members.filter { accepted.contains($0.key) }.map { ($0.key, $0.value) })
        var betas = betas
        if !(configuration.betas + betas).isEmpty, !(configuration.betas + betas).contains("token-counting-2024-11-01") {
            betas.append("token-counting-2024-11-01")
        }
        return try await withRetries(url: configuration.countTokensURL, body: .object(body), streaming: false, betas: betas) {
            try await countAttempt($0)
        }
    }

    /// Sends `body` to `url` until an attempt succeeds, fails for good, or the retries run out.
    private func withRetries<Result>(
        url: URL, body: JSONValue, streaming: Bool, betas: [String],
        _ attempt: (TransportRequest) async throws -> Result
    ) async throws -> Result {
        guard let apiKey = configuration.apiKey, !apiKey.isEmpty else {
            throw ClaudeAPIError(
                .missingAPIKey,
                "no API key: set ANTHROPIC_API_KEY or pass apiKey in ClaudeConfiguration (nothing was sent)")
        }
        let httpRequest = TransportRequest(
            method: "POST", url: url, headers: headers(apiKey: apiKey, streaming: streaming, betas: betas),
            body: body.jsonData(), timeout: configuration.timeout)
        var retry = 0
        while true {
            try Task.checkCancellation()
            do {
                return try await attempt(httpRequest)
            } catch let failure as AttemptFailure {
                let error = redacted(failure.error, apiKey: apiKey)
                guard failure.retryable, retry < configuration.maxRetries else {
                    logger.debug("request failed", metadata: ["url": "\(url)", "error": "\(error)"])
                    throw error
                }
                let delay = RetryPolicy.delay(
                    retry: retry, headers: failure.headers, jitter: retryTiming.jitter(), now: retryTiming.now())
                logger.debug(
                    "retrying", metadata: ["url": "\(url)", "retry": "\(retry + 1)", "delay": "\(delay)", "error": "\(error)"])
                try await retryTiming.sleep(delay)
                retry += 1
            }
        }
    }

    private func headers(apiKey: String, streaming: Bool, betas: [String]) -> TransportHeaders {
        var headers: TransportHeaders = [
            "x-api-key": apiKey,
            "anthropic-version": configuration.anthropicVersion,
            "content-type": "application/json",
            "accept": streaming ? "text/event-stream" : "application/json",
        ]
        var allBetas: [String] = []
        for beta in configuration.betas + betas where !allBetas.contains(beta) { allBetas.append(beta) }
        if !allBetas.isEmpty { headers.add("anthropic-beta", allBetas.joined(separator: ",")) }
        for field in configuration.additionalHeaders { headers.add(field.name, field.value) }
        return headers
    }

    /// One try of `count_tokens`; every failure is an ``AttemptFailure``.
    private func countAttempt(_ request: TransportRequest) async throws -> Int {
        let (response, body) = try await exchange(request)
        guard let count = (try? JSONValue(parsing: body))?["input_tokens"]?.intValue else {
            throw AttemptFailure(
                ClaudeAPIError(
                    .invalidResponse, status: response.status,
                    "the response is not a token count (no integer \"input_tokens\"); it starts with: \(Self.quote(body))",
                    requestID: response.headers["request-id"]),
                retryable: false)
        }
        return count
    }

    /// Sends `request` and reads a successful response's whole body; an error status, a
    /// failed connection or a cut body is an ``AttemptFailure``.
    private func exchange(_ request: TransportRequest) async throws -> (TransportResponse, Data) {
        let response = try await sendChecked(request)
        do {
            return (response, try await response.collectBody())
        } catch {
            throw AttemptFailure(try connectionError(error), retryable: true)
        }
    }

    /// Sends `request` and returns the response head once its status is a success; a failed
    /// connection or an error status is an ``AttemptFailure``.
    private func sendChecked(_ request: TransportRequest) async throws -> TransportResponse {
        let response: TransportResponse
        do {
            response = try await transport.send(request)
        } catch {
            throw AttemptFailure(try connectionError(error), retryable: true)
        }
        try await checkStatus(response)
        return response
    }

    /// Throws the typed error of a response with an error status.
    private func checkStatus(_ response: TransportResponse) async throws {
        guard !(200..<300).contains(response.status) else { return }
        let body: Data
        do {
            body = try await response.collectBody(limit: 1 << 20)
        } catch {
            throw AttemptFailure(try connectionError(error), retryable: true)
        }
        throw AttemptFailure(
            Self.apiError(status: response.status, body: body, requestID: response.headers["request-id"]),
            retryable: RetryPolicy.shouldRetry(status: response.status, headers: response.headers),
            headers: response.headers)
    }

    /// One try; every failure is an ``AttemptFailure`` that says whether to retry.
    private func attempt(
        _ request: TransportRequest, streaming: Bool, onEvent: (@Sendable (MessageStreamEvent) -> Void)?
    ) async throws -> MessageResponse {
        if streaming {
            let response = try await sendChecked(request)
            return try await readStream(response, requestID: response.headers["request-id"], onEvent: onEvent)
        }
        let (response, body) = try await exchange(request)
        do {
            return try MessageResponse(jsonValue: JSONValue(parsing: body))
        } catch {
            throw AttemptFailure(
                ClaudeAPIError(
                    .invalidResponse, status: response.status,
                    "the response is not a message (\(error)); it starts with: \(Self.quote(body))",
                    requestID: response.headers["request-id"]),
                retryable: false)
        }
    }

    private func readStream(
        _ response: TransportResponse, requestID: String?, onEvent: (@Sendable (MessageStreamEvent) -> Void)?
    ) async throws -> MessageResponse {
        var parser = ServerSentEventParser()
        var accumulator = MessageStreamAccumulator()
        var delivered = false
        func interrupted(_ reason: String) -> AttemptFailure {
            AttemptFailure(
                ClaudeAPIError(
                    .streamInterrupted, status: response.status,
                    "the stream was cut before message_stop (\(reason))"
                        + (delivered ? "; part of the response was already delivered, so it was not retried" : ""),
                    requestID: requestID),
                retryable: !delivered)
        }
        do {
            for try await chunk in response.body {
                for event in parser.feed(chunk) {
                    let updates: [MessageStreamEvent]
                    do {
                        updates = try accumulator.apply(event)
                    } catch var error as ClaudeAPIError {
                        error.requestID = error.requestID ?? requestID
                        throw AttemptFailure(error, retryable: false)
                    }
                    for update in updates {
                        delivered = true
                        onEvent?(update)
                    }
                    if accumulator.isComplete { return try accumulator.response() }
                }
            }
        } catch let failure as AttemptFailure {
            throw failure
        } catch let error as ClaudeAPIError {
            throw AttemptFailure(error, retryable: false)
        } catch {
            let cause = try connectionError(error)
            throw interrupted(cause.message)
        }
        // A cancelled transport may end the body quietly; that is cancellation, not a cut stream.
        try Task.checkCancellation()
        throw interrupted("the connection closed")
    }

    /// Maps a transport failure to an error; rethrows cancellation.
    private func connectionError(_ error: any Error) throws -> ClaudeAPIError {
        if error is CancellationError || Task.isCancelled { throw CancellationError() }
        if let transport = error as? HTTPTransportError {
            return ClaudeAPIError(transport.isTimeout ? .timeout : .connection, transport.message)
        }
        return ClaudeAPIError(.connection, "\(error)")
    }

    /// The typed error for an HTTP error response: the API's `{"type":"error","error":{...}}`
    /// when the body is that, else a message quoting the body's first bytes.
    static func apiError(status: Int, body: Data, requestID: String?) -> ClaudeAPIError {
        if let json = try? JSONValue(parsing: body), let error = json["error"]?.objectValue,
           let message = error["message"]?.stringValue
        {
            return ClaudeAPIError(
                .api, status: status, errorType: error["type"]?.stringValue, message,
                requestID: requestID ?? json["request_id"]?.stringValue)
        }
        let text = body.isEmpty ? "the response has no body" : "the response body is not an API error: \(quote(body))"
        return ClaudeAPIError(.api, status: status, text, requestID: requestID)
    }

    /// The first 200 bytes of a body as text, quoted.
    static func quote(_ body: Data) -> String {
        let prefix = body.prefix(200)
        let text = String(decoding: prefix, as: UTF8.self)
        return "\"\(text)\(body.count > 200 ? "…" : "")\""
    }

    /// The error with every occurrence of the API key replaced (a server could echo it).
    private func redacted(_ error: ClaudeAPIError, apiKey: String) -> ClaudeAPIError {
        var error = error
        error.message = error.message.replacingOccurrences(of: apiKey, with: "[redacted]")
        // The error type and request id come from the server too (RELIABILITY.md, defect 1).
        error.errorType = error.errorType?.replacingOccurrences(of: apiKey, with: "[redacted]")
        error.requestID = error.requestID?.replacingOccurrences(of: apiKey, with: "[redacted]")
        return error
    }
}

/// A failed attempt and whether it may be retried.
private struct AttemptFailure: Error {
    var error: ClaudeAPIError
    var retryable: Bool
    var headers: TransportHeaders?

    init(_ error: ClaudeAPIError, retryable: Bool, headers: TransportHeaders? = nil) {
        self.error = error
        self.retryable = retryable
        self.headers = headers
    }
}

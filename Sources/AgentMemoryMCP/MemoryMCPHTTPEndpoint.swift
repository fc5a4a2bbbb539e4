import AgentMemory
import Foundation
import Logging
import MCP

/// The MCP server over Streamable HTTP, free of any HTTP framework: a host server (such as
/// `agent-memory serve`) hands every request for its MCP path (`/mcp`) to
/// ``handle(_:owner:makeServer:)`` and writes back the SDK's `HTTPResponse` (`.stream` is a
/// `text/event-stream` body to pipe).
///
/// Built on swift-sdk 0.12.1's `StatefulHTTPServerTransport`
/// (`Sources/MCP/Base/Transports/HTTPServer/StatefulHTTPServerTransport.swift`), one transport
/// and one server per MCP session: an `initialize` POST without `MCP-Session-Id` opens a
/// session (its server, bound to a store, namespace, agent and access, comes from the caller),
/// later requests carry the session id, and DELETE ends it. The SDK validates each request
/// (Origin and Host, Accept, Content-Type, protocol version, session).
///
/// Sessions are bounded so that clients cannot exhaust memory: at most ``maximumSessions`` at
/// once (an `initialize` beyond that is refused with 503), and a session with no request for
/// ``idleTimeout`` and no open event stream is ended. The SDK's transport keeps every message
/// it sent in a session (for clients that resume a stream with `Last-Event-ID`) until the
/// session ends, so a session also ends once its answers add up to ``maximumSessionBytes``;
/// its client gets 404 and, as the specification requires, initializes again. A session
/// answers only its `owner` (the
/// host's name for who opened it, e.g. a token and a namespace); anyone else gets 404, as for
/// a session that does not exist.
///
/// A POST's answer is sent as one `application/json` body rather than an event stream when the
/// SDK's stream for it carries exactly one message (always, for this server: it sends no
/// request-scoped notifications). The Streamable HTTP specification lets the server choose
/// either, and the SDK's own `HTTPClientTransport` on Linux reads only JSON answers (its
/// `processResponse` yields an SSE body whole, as if it were one message). Server-initiated
/// notifications go to the session's GET event stream, as the SDK routes them.
public actor MemoryMCPHTTPEndpoint {
    /// The most sessions open at once; an `initialize` beyond it gets 503.
    public let maximumSessions: Int
    /// How long a session may go without a request (and without an open event stream) before it is ended.
    public let idleTimeout: Duration
    /// How many bytes of answers a session may receive before it is ended (what the SDK keeps for it).
    public let maximumSessionBytes: Int
    private let originValidator: OriginValidator
    private let now: @Sendable () -> ContinuousClock.Instant
    private let logger: Logger
    private var sessions: [String: Session] = [:]
    /// `initialize` requests between the capacity check and their session's registration.
    private var opening = 0

    private struct Session {
        let owner: String
        let transport: StatefulHTTPServerTransport
        let session: MemoryMCPSession
        var lastActive: ContinuousClock.Instant
        var openStreams = 0
        var answeredBytes = 0
    }

    /// An endpoint with the given bounds. `originValidator` is the SDK's DNS-rebinding check
    /// (`.localhost()` for a server bound to a loopback address); `now` is the clock idle
    /// sessions are measured with (injectable for tests).
    public init(
        maximumSessions: Int = 100,
        idleTimeout: Duration = .seconds(600),
        maximumSessionBytes: Int = 32 * 1_048_576,
        originValidator: OriginValidator = .localhost(),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        logger: Logger = Logger(label: "AgentMemory.mcp.http", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.maximumSessions = max(1, maximumSessions)
        self.idleTimeout = idleTimeout
        self.maximumSessionBytes = maximumSessionBytes
        self.originValidator = originValidator
        self.now = now
        self.logger = logger
    }

    /// How many sessions are open.
    public var sessionCount: Int { sessions.count }

    /// Answers one HTTP request for the MCP path on behalf of `owner`. `makeServer` is called
    /// only for an `initialize` that opens a session; a thrown error refuses it with 403.
    public func handle(
        _ request: HTTPRequest, owner: String = "", makeServer: @Sendable () async throws -> MemoryMCPServer
    ) async -> HTTPResponse {
        let requested = request.header(HTTPHeaderName.sessionID)
        expireIdleSessions(except: requested)
        let (response, id) = await route(request, sessionID: requested, owner: owner, makeServer: makeServer)
        guard let id else { return response }
        if request.method.uppercased() == "POST" {
            let answer = await MCPJSONAnswer.collapse(response)
            sessions[id]?.lastActive = now()
            sessions[id]?.answeredBytes += answer.bodyData?.count ?? 0
            if let answered = sessions[id]?.answeredBytes, answered >= maximumSessionBytes {
                logger.debug("MCP session ended: its answers reached the byte limit", metadata: ["bytes": "\(answered)"])
                await end(id)
            }
            return answer
        }
        if case .stream(let stream, let headers) = response, sessions[id] != nil {
            return .stream(tracking(stream, session: id), headers: headers)
        }
        return response
    }

    /// Ends every session (their servers, transports, notifications and event streams).
    public func close() async {
        let open = sessions.values
        sessions.removeAll()
        for entry in open { await entry.session.stop() }
    }

    /// The response, and the session it belongs to (when one is open after it).
    private func route(
        _ request: HTTPRequest, sessionID: String?, owner: String, makeServer: @Sendable () async throws -> MemoryMCPServer
    ) async -> (HTTPResponse, String?) {
        if let id = sessionID {
            guard let entry = sessions[id], entry.owner == owner else {
                return (.error(statusCode: 404, .invalidRequest("Not Found: no open session \(id); send initialize again")), nil)
            }
            sessions[id]?.lastActive = now()
            let response = await entry.transport.handleRequest(request)
            if request.method.uppercased() == "DELETE", response.statusCode == 200 {
                await end(id)
                return (response, nil)
            }
            return (response, id)
        }
        guard request.method.uppercased() == "POST", Self.isInitialize(request.body) else {
            return (
                .error(
                    statusCode: 400,
                    .invalidRequest("Bad Request: no MCP-Session-Id; POST an initialize request first, then send its session id")),
                nil
            )
        }
        guard sessions.count + opening < maximumSessions else {
            return (
                .error(
                    statusCode: 503, .internalError("Service Unavailable: \(maximumSessions) MCP sessions are open; try again later"),
                    extraHeaders: ["Retry-After": "\(max(1, Int(idleTimeout.components.seconds)))"]),
                nil
            )
        }
        opening += 1
        defer { opening -= 1 }
        let server: MemoryMCPServer
        do {
            server = try await makeServer()
        } catch {
            return (.error(statusCode: 403, .invalidRequest("Forbidden: \(error)")), nil)
        }
        let transport = StatefulHTTPServerTransport(
            validationPipeline: StandardValidationPipeline(validators: [
                originValidator, AcceptHeaderValidator(mode: .sseRequired), ContentTypeValidator(), ProtocolVersionValidator(),
                SessionValidator(),
            ]),
            logger: logger)
        let session: MemoryMCPSession
        do {
            session = try await server.start(transport: transport)
        } catch {
            logger.error("MCP session did not start", metadata: ["error": "\(error)"])
            return (.error(statusCode: 500, .internalError("Internal error: the session did not start")), nil)
        }
        let response = await transport.handleRequest(request)
        guard let id = response.headers[HTTPHeaderName.sessionID], response.statusCode == 200 else {
            await session.stop()
            return (response, nil)
        }
        sessions[id] = Session(owner: owner, transport: transport, session: session, lastActive: now())
        logger.debug("MCP session opened", metadata: ["sessions": "\(sessions.count)"])
        return (response, id)
    }

    /// Ends the sessions idle for ``idleTimeout`` or longer, except `kept` (the one asking).
    private func expireIdleSessions(except kept: String?) {
        let instant = now()
        let idle = sessions.filter { id, entry in
            id != kept && entry.openStreams == 0 && entry.lastActive.duration(to: instant) >= idleTimeout
        }
        for (id, entry) in idle {
            sessions[id] = nil
            logger.debug("MCP session expired", metadata: ["idle": "\(entry.lastActive.duration(to: instant))"])
            Task { await entry.session.stop() }
        }
    }

    /// Removes a session and stops its server.
    private func end(_ id: String) async {
        guard let entry = sessions.removeValue(forKey: id) else { return }
        await entry.session.stop()
    }

    /// `stream`, counted as open on session `id` until its reader or its writer ends it, so
    /// that a client listening for notifications is not taken for idle.
    private func tracking(_ stream: AsyncThrowingStream<Data, any Error>, session id: String) -> AsyncThrowingStream<Data, any Error> {
        sessions[id]?.openStreams += 1
        let (relay, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
        let pump = Task {
            do {
                for try await chunk in stream { continuation.yield(chunk) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { [weak self] _ in
            pump.cancel()
            Task { await self?.streamEnded(id) }
        }
        return relay
    }

    private func streamEnded(_ id: String) {
        guard sessions[id] != nil else { return }
        sessions[id]?.openStreams -= 1
        sessions[id]?.lastActive = now()
    }

    /// Whether `body` is a JSON-RPC `initialize` request.
    private static func isInitialize(_ body: Data?) -> Bool {
        guard let body, let message = try? JSONValue(parsing: body) else { return false }
        return message.objectValue?["method"]?.stringValue == "initialize"
    }
}

import AgentMemory
import Foundation
import Logging
import MCP

/// The MCP server over Streamable HTTP, free of any HTTP framework: a host server (such as
/// `agent-memory serve`) hands every request for its MCP path (`/mcp`) to ``handle(_:)`` and
/// writes back the SDK's `HTTPResponse` (`.stream` is a `text/event-stream` body to pipe).
///
/// Built on swift-sdk 0.12.1's `StatefulHTTPServerTransport`
/// (`Sources/MCP/Base/Transports/HTTPServer/`), one transport and one server per MCP session:
/// an `initialize` POST without `MCP-Session-Id` opens a session (the `server` closure decides,
/// from the request, which store, namespace, agent and access it gets, so a host can apply its
/// bearer tokens), later requests carry the session id, and DELETE ends it. The SDK's default
/// validation applies (Origin on localhost, Accept, Content-Type, protocol version).
public actor MemoryMCPHTTPEndpoint {
    /// Makes the server of a new session from its `initialize` request; a thrown error refuses
    /// the session with 403 and the error's description.
    public typealias ServerFactory = @Sendable (HTTPRequest) async throws -> MemoryMCPServer

    /// The most sessions open at once; an `initialize` beyond it gets 503.
    public let maximumSessions: Int
    private let makeServer: ServerFactory
    private let logger: Logger
    private var sessions: [String: (transport: StatefulHTTPServerTransport, session: MemoryMCPSession)] = [:]

    /// An endpoint whose sessions are made by `server`.
    public init(
        maximumSessions: Int = 100,
        logger: Logger = Logger(label: "AgentMemory.mcp.http", factory: { _ in SwiftLogNoOpLogHandler() }),
        server: @escaping ServerFactory
    ) {
        self.maximumSessions = maximumSessions
        self.logger = logger
        self.makeServer = server
    }

    /// How many sessions are open.
    public var sessionCount: Int { sessions.count }

    /// Answers one HTTP request for the MCP path.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        if let id = request.header(HTTPHeaderName.sessionID) {
            guard let entry = sessions[id] else {
                return .error(statusCode: 404, .invalidRequest("Not Found: no open session \(id); send initialize again"))
            }
            let response = await entry.transport.handleRequest(request)
            if request.method.uppercased() == "DELETE", response.statusCode == 200 {
                sessions[id] = nil
                await entry.session.stop()
            }
            return response
        }
        guard request.method.uppercased() == "POST", Self.isInitialize(request.body) else {
            return .error(
                statusCode: 400,
                .invalidRequest("Bad Request: no MCP-Session-Id; POST an initialize request first, then send its session id"))
        }
        guard sessions.count < maximumSessions else {
            return .error(statusCode: 503, .internalError("Service Unavailable: \(maximumSessions) MCP sessions are open"))
        }
        let server: MemoryMCPServer
        do {
            server = try await makeServer(request)
        } catch {
            return .error(statusCode: 403, .invalidRequest("Forbidden: \(error)"))
        }
        let transport = StatefulHTTPServerTransport(logger: logger)
        let session: MemoryMCPSession
        do {
            session = try await server.start(transport: transport)
        } catch {
            logger.error("MCP session did not start", metadata: ["error": "\(error)"])
            return .error(statusCode: 500, .internalError("Internal error: the session did not start"))
        }
        let response = await transport.handleRequest(request)
        if let id = response.headers[HTTPHeaderName.sessionID], response.statusCode == 200 {
            sessions[id] = (transport, session)
        } else {
            await session.stop()
        }
        return response
    }

    /// Ends every session (their servers, transports and notifications).
    public func close() async {
        let open = sessions.values
        sessions.removeAll()
        for entry in open { await entry.session.stop() }
    }

    /// Whether `body` is a JSON-RPC `initialize` request.
    private static func isInitialize(_ body: Data?) -> Bool {
        guard let body, let message = try? JSONValue(parsing: body) else { return false }
        return message.objectValue?["method"]?.stringValue == "initialize"
    }
}

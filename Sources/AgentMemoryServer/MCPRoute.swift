import AgentMemory
import AgentMemoryMCP
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MCP
import NIOCore

/// `/mcp`: the MCP server over Streamable HTTP (GET, POST, DELETE), a thin adapter between
/// Hummingbird and ``MemoryMCPHTTPEndpoint``, which holds the sessions.
///
/// The caller has passed the bearer-token check for the namespace already (`?namespace=`, else
/// the server's ``ServerConfiguration/mcpNamespace``). A session opened by a token is bound to
/// that token and namespace: the token's agent id is the author of its writes, and a read-only
/// token gets a read-only server, whose `tools/list` offers only the tools that do not write
/// (a call to another is answered with an `isError` result, never a write).
struct MCPRoute: Sendable {
    let endpoint: MemoryMCPHTTPEndpoint
    let store: any MemoryStore
    let tools: [MemoryToolKind]
    let maxBodyBytes: Int
    let pingInterval: Duration?
    let logger: Logger

    /// The SDK's DNS-rebinding check: an open server (loopback only, no tokens) accepts only
    /// local names in `Host` and `Origin`, so a web page cannot reach it through a rebound
    /// name; with tokens there is no such check (a page cannot present a token, and a server
    /// behind a proxy sees the proxy's public name).
    static func originValidator(tokens: TokenFile?) -> OriginValidator {
        tokens == nil ? .localhost() : .disabled
    }

    /// Answers one request to `/mcp` for `caller` in `namespace`.
    func respond(_ request: Request, namespace: Namespace, caller: Caller) async throws -> Response {
        let mcpRequest = try await Self.mcpRequest(request, maxBodyBytes: maxBodyBytes)
        let owner = caller.rateKey + " " + namespace.name
        let store = store, tools = tools, logger = logger
        let answer = await endpoint.handle(mcpRequest, owner: owner) {
            try MemoryMCPServer(
                store: store, namespace: namespace, agent: caller.agent, tools: tools,
                access: caller.canWrite ? .readWrite : .readOnly, logger: logger)
        }
        return response(answer)
    }

    /// The SDK's request: method, headers (`Host` from the request's authority), body, path.
    static func mcpRequest(_ request: Request, maxBodyBytes: Int) async throws -> MCP.HTTPRequest {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        if let authority = request.head.authority { headers["host"] = authority }
        var body: Data?
        if request.method == .post {
            do {
                let buffer = try await request.body.collect(upTo: maxBodyBytes)
                body = Data(buffer.readableBytesView)
            } catch is NIOTooManyBytesError {
                throw HTTPFailure(JSONResponses.error(.contentTooLarge, "Request body is larger than the limit of \(maxBodyBytes) bytes"))
            }
        }
        return MCP.HTTPRequest(method: request.method.rawValue, headers: headers, body: body, path: "/mcp")
    }

    /// The Hummingbird response for the SDK's: status, headers, and the body whole or, for an
    /// event stream, piped with pings.
    func response(_ answer: MCP.HTTPResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let fieldName = HTTPField.Name(name) { fields[fieldName] = value }
        }
        let status = HTTPTypes.HTTPResponse.Status(code: answer.statusCode)
        guard case .stream(let events, _) = answer else {
            return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.bodyData ?? Data())))
        }
        let body = EventStreamBody.make(pingInterval: pingInterval) { output in
            for try await chunk in events { output.yield(ByteBuffer(bytes: chunk)) }
        }
        return Response(status: status, headers: fields, body: body)
    }
}

import AgentMemory
import HTTPTypes
import Hummingbird
import Logging

/// Routes every request by its raw path (see ``RequestTarget``), checks the token and the rate
/// limit, calls the route, and counts the request in the metrics. Never redirects.
struct ServerResponder: HTTPResponder {
    let memory: MemoryRoutes
    let feeds: FeedRoutes
    let mcp: MCPRoute
    /// The namespace `/mcp` serves when the request names none.
    let mcpNamespace: Namespace
    let authorization: Authorization
    let rateLimiter: RateLimiter?
    let metrics: ServerMetrics
    let logger: Logger

    func respond(to request: Request, context: ServerRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let target = RequestTarget(request.head.path ?? "/")
        var route = "unmatched"
        let response: Response
        do {
            response = try await dispatch(request, target, context, route: &route)
        } catch let failure as HTTPFailure {
            response = failure.response
        } catch let error as MemoryError {
            response = JSONResponses.storeError(error)
            if response.status.code >= 500 { metrics.recordStoreError(code: error.code.rawValue) }
        } catch {
            logger.error("request failed", metadata: ["route": "\(route)", "error": "\(String(reflecting: type(of: error)))"])
            metrics.recordStoreError(code: "other")
            response = JSONResponses.error(.internalServerError, "Internal error")
        }
        metrics.recordRequest(method: request.method.rawValue, route: route, status: response.status.code, duration: start.duration(to: .now))
        return response
    }

    private func dispatch(_ request: Request, _ target: RequestTarget, _ context: ServerRequestContext, route: inout String) async throws -> Response {
        let method = request.method
        switch target.rawSegments.first {
        case "healthz" where target.rawSegments.count == 1:
            route = "/healthz"
            guard method == .get || method == .head else { throw HTTPFailure(notAllowed("GET")) }
            return JSONResponses.json(["status": "ok"])
        case "metrics" where target.rawSegments.count == 1:
            route = "/metrics"
            guard method == .get else { throw HTTPFailure(notAllowed("GET")) }
            _ = try await admit(request, context, namespace: nil, write: false)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render())))
        case "memory" where target.rawSegments.count == 2 || (target.rawSegments.count == 3 && target.rawSegments[2].isEmpty):
            route = "/memory/{namespace}"
            guard method == .get else { throw HTTPFailure(notAllowed("GET")) }
            let namespace = try Self.namespace(target)
            _ = try await admit(request, context, namespace: namespace, write: false)
            return try await memory.list(target, in: namespace)
        case "memory" where target.rawSegments.count >= 3:
            return try await memoryItem(request, target, context, route: &route)
        case "search" where target.rawSegments.count == 2:
            route = "/search/{namespace}"
            guard method == .get else { throw HTTPFailure(notAllowed("GET")) }
            let namespace = try Self.namespace(target)
            _ = try await admit(request, context, namespace: namespace, write: false)
            return try await feeds.search(target, in: namespace)
        case "changes" where target.rawSegments.count == 2:
            route = "/changes/{namespace}"
            guard method == .get else { throw HTTPFailure(notAllowed("GET")) }
            let namespace = try Self.namespace(target)
            _ = try await admit(request, context, namespace: namespace, write: false)
            return try await feeds.changes(request, target, in: namespace)
        case "mcp" where target.rawSegments.count == 1:
            route = "/mcp"
            guard method == .get || method == .post || method == .delete else { throw HTTPFailure(notAllowed("GET, POST, DELETE")) }
            let namespace = try namespaceForMCP(target)
            let caller = try await admit(request, context, namespace: namespace, write: false)
            return try await mcp.respond(request, namespace: namespace, caller: caller)
        default:
            throw HTTPFailure(JSONResponses.error(.notFound, "Not Found"))
        }
    }

    /// `/memory/{namespace}/{key}` (GET, PUT, DELETE) and `/memory/{namespace}/{key}/append` (POST).
    private func memoryItem(_ request: Request, _ target: RequestTarget, _ context: ServerRequestContext, route: inout String) async throws -> Response {
        let method = request.method
        let namespace = try Self.namespace(target)
        if method == .post {
            route = "/memory/{namespace}/{key}/append"
            guard target.rawSegments.count >= 4, target.rawSegments.last == "append" else {
                throw HTTPFailure(notAllowed("GET, PUT, DELETE"))
            }
            let key = try Self.key(target, droppingLast: 1)
            let caller = try await admit(request, context, namespace: namespace, write: true)
            return try await memory.append(request, key: key, in: namespace, caller: caller)
        }
        route = "/memory/{namespace}/{key}"
        let key = try Self.key(target, droppingLast: 0)
        switch method {
        case .get:
            _ = try await admit(request, context, namespace: namespace, write: false)
            return try await memory.get(key: key, in: namespace)
        case .put:
            let caller = try await admit(request, context, namespace: namespace, write: true)
            return try await memory.put(request, key: key, in: namespace, caller: caller)
        case .delete:
            let caller = try await admit(request, context, namespace: namespace, write: true)
            return try await memory.delete(request, key: key, in: namespace, caller: caller)
        default:
            throw HTTPFailure(notAllowed("GET, PUT, DELETE"))
        }
    }

    /// Authorizes the request and takes one request from its caller's rate limit.
    private func admit(_ request: Request, _ context: ServerRequestContext, namespace: Namespace?, write: Bool) async throws -> Caller {
        let caller: Caller
        do {
            caller = try authorization.caller(of: request, address: context.clientAddress, namespace: namespace, write: write)
        } catch {
            // Failed attempts count against the client's address, so guessing tokens is rate-limited too.
            if error.response.status == .unauthorized { try await take("address:" + context.clientAddress) }
            throw error
        }
        try await take(caller.rateKey)
        return caller
    }

    /// Takes one request from `key`'s budget, or throws 429 with `Retry-After`.
    private func take(_ key: String) async throws(HTTPFailure) {
        if let rateLimiter, let wait = await rateLimiter.admit(key) {
            throw HTTPFailure(JSONResponses.error(
                .tooManyRequests, "Rate limit exceeded: retry in \(wait) s", headers: [.retryAfter: String(wait)]))
        }
    }

    private static func namespace(_ target: RequestTarget) throws(HTTPFailure) -> Namespace {
        guard let name = target.segment(1) else {
            throw HTTPFailure(JSONResponses.error(.badRequest, "The namespace is not valid UTF-8 once percent-decoded"))
        }
        if let problem = Namespace.problem(with: name) { throw HTTPFailure(JSONResponses.error(.badRequest, problem)) }
        do {
            return try Namespace(name)
        } catch {
            throw HTTPFailure(JSONResponses.error(.badRequest, "\(error)"))
        }
    }

    /// `/mcp?namespace=NAME`, else the server's MCP namespace; 400 when the name is not valid.
    private func namespaceForMCP(_ target: RequestTarget) throws(HTTPFailure) -> Namespace {
        guard let name = target.query["namespace"] else { return mcpNamespace }
        if let problem = Namespace.problem(with: name) { throw HTTPFailure(JSONResponses.error(.badRequest, problem)) }
        do {
            return try Namespace(name)
        } catch {
            throw HTTPFailure(JSONResponses.error(.badRequest, "\(error)"))
        }
    }

    private static func key(_ target: RequestTarget, droppingLast dropped: Int) throws(HTTPFailure) -> MemoryKey {
        guard let text = target.remainder(from: 2, droppingLast: dropped) else {
            throw HTTPFailure(JSONResponses.error(.badRequest, "Invalid key: not valid UTF-8 once percent-decoded"))
        }
        do {
            return try MemoryKey(text)
        } catch {
            throw HTTPFailure(JSONResponses.error(.badRequest, "\(error)"))
        }
    }

    private func notAllowed(_ allowed: String) -> Response {
        JSONResponses.error(.methodNotAllowed, "Method Not Allowed", headers: [.allow: allowed])
    }
}

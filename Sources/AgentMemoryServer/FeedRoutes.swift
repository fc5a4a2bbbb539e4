import AgentMemory
import HTTPTypes
import Hummingbird
import NIOCore

/// Beyond BotWire: `GET /search/{namespace}?q=`, `GET /changes/{namespace}?since=` and its
/// server-sent-events form for watchers.
struct FeedRoutes: Sendable {
    let store: any MemoryStore
    /// How often a watcher's stream gets a comment line; `nil` for never.
    let pingInterval: Duration?

    /// Ranked full-text search: `{"namespace", "query", "results": [{"key", "value", "score", "snippet"}]}`.
    func search(_ target: RequestTarget, in namespace: Namespace) async throws -> Response {
        guard let query = target.query["q"], !query.isEmpty else {
            throw HTTPFailure(JSONResponses.error(.badRequest, "Give the search text as ?q=..."))
        }
        let limit = try Self.limit(target, default: 20, max: 100)
        let hits = try await store.search(query, in: namespace, limit: limit)
        let results: [JSONValue] = hits.map { hit in
            [
                "key": .string(hit.record.key), "value": .string(MemoryRoutes.text(of: hit.record.value)),
                "score": .double(hit.score), "snippet": .string(hit.snippet), "version": .int(hit.record.version),
            ]
        }
        return JSONResponses.json(["namespace": .string(namespace.name), "query": .string(query), "results": .array(results)])
    }

    /// The change log after `since`: `{"namespace", "changes": [...], "last_sequence"}`; with
    /// `Accept: text/event-stream` (or `?stream=true`), every change after `since` (or
    /// `Last-Event-ID`) and each new one as an SSE `change` event whose id is its sequence.
    func changes(_ request: Request, _ target: RequestTarget, in namespace: Namespace) async throws -> Response {
        var since: Int64 = 0
        if let text = target.query["since"] ?? request.headers[HTTPField.Name("Last-Event-ID")!] {
            guard let value = Int64(text), value >= 0 else {
                throw HTTPFailure(JSONResponses.error(.badRequest, "since must be a change sequence number (0 or more)"))
            }
            since = value
        }
        let wantsStream = target.query["stream"] == "true" || (request.headers[.accept] ?? "").contains("text/event-stream")
        if wantsStream { return stream(in: namespace, since: since) }
        let limit = try Self.limit(target, default: 500, max: 10_000)
        let changes = try await store.changes(in: namespace, since: since, limit: limit)
        return JSONResponses.json([
            "namespace": .string(namespace.name), "changes": .array(changes.map(\.jsonObject)),
            "last_sequence": .int(Int(changes.last?.sequence ?? since)),
        ])
    }

    /// An endless SSE response fed by the store's `watch`, with a comment ping every
    /// `pingInterval` between changes; it ends when the client goes away (noticed at the next
    /// write), the store fails (an `error` event), or the server shuts down gracefully.
    private func stream(in namespace: Namespace, since: Int64) -> Response {
        let store = self.store
        let body = EventStreamBody.make(
            opening: ": watching \(namespace.name)\n\n", pingInterval: pingInterval,
            failure: { error in
                let message: JSONValue = ["detail": .string("\(error)")]
                return "event: error\ndata: \(message.jsonString())\n\n"
            },
            produce: { events in
                for try await change in store.watch(in: namespace, since: since) {
                    events.yield(ByteBuffer(string: "id: \(change.sequence)\nevent: change\ndata: \(change.jsonObject.jsonString())\n\n"))
                }
            })
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// `?limit=`, from 1 to `max`, else `fallback`.
    static func limit(_ target: RequestTarget, default fallback: Int, max: Int) throws(HTTPFailure) -> Int {
        guard let text = target.query["limit"] else { return fallback }
        guard let value = Int(text), (1...max).contains(value) else {
            throw HTTPFailure(JSONResponses.error(.badRequest, "limit must be a whole number from 1 to \(max)"))
        }
        return value
    }
}

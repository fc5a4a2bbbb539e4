import AgentMemory
import AgentMemoryServer
import Testing

/// Body size (413), rate limits (429 with Retry-After) and metrics.
@Suite struct LimitTests {
    @Test func oversizedBodiesAre413() async throws {
        try await withLiveServer(configure: { $0.maxBodyBytes = 64 }) { (client: HTTPTestClient) async throws in
            let big = try await client.put("/memory/team/k", value: .string(String(repeating: "x", count: 100)))
            #expect(big.status == 413)
            #expect(big.json == ["detail": "Request body is larger than the limit of 64 bytes"])
            #expect(try await client.get("/memory/team/k").status == 404)
            #expect(try await client.put("/memory/team/k", value: "small").status == 200)
        }
    }

    @Test func eachCallerIsRateLimited() async throws {
        // One request per hour after a burst of three: the fourth is refused whatever the timing.
        try await withLiveServer(configure: {
            $0.rateLimit = RateLimit(perSecond: 1.0 / 3600, burst: 3)
            $0.tokens = try? testTokens()
        }) { (anonymous: HTTPTestClient) async throws in
            let writer = HTTPTestClient(port: anonymous.port, token: "writer-secret")
            for _ in 0..<3 { #expect(try await writer.get("/memory/team/k").status == 404) }
            let refused = try await writer.get("/memory/team/k")
            #expect(refused.status == 429)
            let wait = try #require(refused.headers["retry-after"].flatMap(Int.init))
            #expect(wait > 3000 && wait <= 3600)
            #expect(refused.json == .object(["detail": .string("Rate limit exceeded: retry in \(wait) s")]))
            // Another token has its own budget.
            let reader = HTTPTestClient(port: anonymous.port, token: "reader-secret")
            #expect(try await reader.get("/memory/team/k").status == 404)
        }
    }

    @Test func failedAuthenticationIsRateLimitedByAddress() async throws {
        try await withLiveServer(configure: {
            $0.rateLimit = RateLimit(perSecond: 1.0 / 3600, burst: 2)
            $0.tokens = try? testTokens()
        }) { (anonymous: HTTPTestClient) async throws in
            let guess = HTTPTestClient(port: anonymous.port, token: "guess")
            #expect(try await guess.get("/memory/team/k").status == 401)
            #expect(try await anonymous.get("/memory/team/k").status == 401)
            let refused = try await guess.get("/memory/team/k")
            #expect(refused.status == 429)
            #expect(refused.headers["retry-after"] != nil)
            // A valid token keeps its own budget.
            #expect(try await HTTPTestClient(port: anonymous.port, token: "writer-secret").get("/memory/team/k").status == 404)
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        try await withLiveServer { (client: HTTPTestClient) async throws in
            _ = try await client.put("/memory/team/k", value: "v")
            _ = try await client.get("/memory/team/k")
            _ = try await client.get("/memory/team/missing")
            // Requests of a route and status seen before count on the same metrics.
            _ = try await client.get("/memory/team/k")
            _ = try await client.get("/memory/other/k2")
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            #expect(text.contains(#"agent_memory_http_requests_total{method="PUT",route="/memory/{namespace}/{key}",status="200"} 1"#))
            #expect(text.contains(#"agent_memory_http_requests_total{method="GET",route="/memory/{namespace}/{key}",status="200"} 2"#))
            #expect(text.contains(#"agent_memory_http_requests_total{method="GET",route="/memory/{namespace}/{key}",status="404"} 2"#))
            #expect(text.contains("# TYPE agent_memory_http_request_duration_seconds histogram"))
            #expect(text.contains(#"agent_memory_http_request_duration_seconds_count{method="PUT",route="/memory/{namespace}/{key}"} 1"#))
            #expect(text.contains(#"agent_memory_http_request_duration_seconds_count{method="GET",route="/memory/{namespace}/{key}"} 4"#))
        }
    }

    @Test func storeFailuresAreCountedAndAnsweredWithJSON() async throws {
        try await withLiveServer(store: FailingStore(code: .unavailable)) { (client: HTTPTestClient) async throws in
            let down = try await client.get("/memory/team/k")
            #expect(down.status == 503)
            #expect(down.json == ["detail": "the store failed (unavailable)"])
            let write = try await client.put("/memory/team/k", value: "v")
            #expect(write.status == 503)
            #expect(try await client.get("/metrics").text.contains(#"agent_memory_store_errors_total{code="unavailable"} 2"#))
        }
        try await withLiveServer(store: FailingStore(code: .storage)) { (client: HTTPTestClient) async throws in
            #expect(try await client.get("/memory/team").status == 500)
        }
    }
}

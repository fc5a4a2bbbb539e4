import AgentMemory
import AgentMemoryServer
import Foundation
import Testing

/// Bearer tokens: 401 without or with a wrong token, 403 for another namespace or a read-only
/// token writing, the token's agent recorded as the author.
@Suite struct AuthTests {
    @Test func tokensGateEveryMemoryRoute() async throws {
        let store = InMemoryMemoryStore()
        try await withLiveServer(store: store, configure: { $0.tokens = try? testTokens() }) { (anonymous: HTTPTestClient) async throws in
            let missing = try await anonymous.get("/memory/team/k")
            #expect(missing.status == 401)
            #expect(missing.json == ["detail": "Missing bearer token: send Authorization: Bearer TOKEN"])
            #expect(missing.headers["www-authenticate"] == "Bearer")
            for target in ["/memory/team", "/search/team?q=x", "/changes/team", "/metrics"] {
                #expect(try await anonymous.get(target).status == 401, "\(target)")
            }
            #expect(try await anonymous.get("/healthz").status == 200)

            let wrong = HTTPTestClient(port: anonymous.port, token: "writer-secreT")
            let wrongResponse = try await wrong.get("/memory/team/k")
            #expect(wrongResponse.status == 401)
            #expect(wrongResponse.json == ["detail": "Invalid bearer token"])
            let basic = try await anonymous.get("/memory/team/k", headers: [("Authorization", "Basic d3JpdGVyOnNlY3JldA==")])
            #expect(basic.status == 401)
            #expect(basic.json == ["detail": "Malformed Authorization header: send Authorization: Bearer TOKEN"])

            let writer = HTTPTestClient(port: anonymous.port, token: "writer-secret")
            #expect(try await writer.put("/memory/team/plan", value: "ship it").status == 200)
            #expect(try await writer.put("/memory/agent-7/notes", value: "mine").status == 200)
            let record = try await store.get(MemoryKey("plan"), in: Namespace("team"))
            #expect(record?.author == "planner")
            #expect(try await writer.get("/memory/team/plan").json["author"] == "planner")

            let elsewhere = try await writer.put("/memory/other/k", value: "x")
            #expect(elsewhere.status == 403)
            #expect(elsewhere.json == ["detail": "This token may not use namespace other"])
            #expect(try await writer.get("/memory/agentless/k").status == 403)

            let reader = HTTPTestClient(port: anonymous.port, token: "reader-secret")
            #expect(try await reader.get("/memory/team/plan").json["value"] == "ship it")
            #expect(try await reader.get("/memory/team").json["keys"] == ["plan"])
            let readOnlyPut = try await reader.put("/memory/team/plan", value: "changed")
            #expect(readOnlyPut.status == 403)
            #expect(readOnlyPut.json == ["detail": "This token is read-only: it may not write to namespace team"])
            #expect(try await reader.delete("/memory/team/plan").status == 403)
            #expect(try await reader.send("POST", "/memory/team/plan/append", body: Array(#"{"value":"x"}"#.utf8)).status == 403)
            #expect(try await reader.get("/memory/agent-7/notes").status == 403)
            #expect(try await store.get(MemoryKey("plan"), in: Namespace("team"))?.value == "ship it")
        }
    }

    @Test func openServerRecordsTheConfiguredAgent() async throws {
        let store = InMemoryMemoryStore()
        try await withLiveServer(store: store, configure: { $0.openAgent = "local" }) { (client: HTTPTestClient) async throws in
            #expect(try await client.put("/memory/team/k", value: "v").status == 200)
            #expect(try await store.get(MemoryKey("k"), in: Namespace("team"))?.author == "local")
        }
    }

    @Test func openServerRefusesNonLoopbackAddresses() throws {
        for host in ["0.0.0.0", "192.168.1.4", "::", "example.com"] {
            #expect(throws: ServerError.self, "\(host)") {
                _ = try AgentMemoryServer(store: InMemoryMemoryStore(), configuration: ServerConfiguration(host: host, port: 0))
            }
        }
        let error = #expect(throws: ServerError.self) {
            try ServerConfiguration(host: "0.0.0.0").validate()
        }
        #expect(error?.message.hasPrefix("refusing to serve on 0.0.0.0 without --tokens") == true)
        for host in ["127.0.0.1", "127.1.2.3", "::1", "localhost"] {
            #expect(throws: Never.self) { try ServerConfiguration(host: host).validate() }
        }
        var withTokens = ServerConfiguration(host: "0.0.0.0")
        withTokens.tokens = try testTokens()
        #expect(throws: Never.self) { try withTokens.validate() }
    }

    @Test(arguments: [
        (#"{"tokens": [{"token": "t", "namespaces": ["a"], "access": "read-write", "role": "x"}]}"#,
         #"tokens file: entry 1: unknown field "role" (allowed: token, namespaces, access, agent)"#),
        (#"{"tokens": [{"token": "t", "namespaces": ["a"], "access": "rw"}]}"#,
         #"tokens file: entry 1: "access" must be "read-write" or "read-only""#),
        (#"{"tokens": [{"token": "t", "namespaces": ["a"], "access": "read-only"}, {"namespaces": ["a"], "access": "read-only"}]}"#,
         #"tokens file: entry 2: "token" must be a string"#),
        (#"{"tokens": [{"token": "t", "namespaces": ["a*b"], "access": "read-only"}]}"#,
         #"tokens file: entry 1: namespace pattern "a*b": "*" is allowed only at the end"#),
        (#"{"tokens": [{"token": "t", "namespaces": [], "access": "read-only"}]}"#,
         #"tokens file: entry 1: "namespaces" must list at least one namespace or pattern"#),
        (#"{"tokens": [], "extra": 1}"#, #"tokens file: unknown field "extra" at the top level (only "tokens" is allowed)"#),
        (#"{"tokens": [{"token": "t", "namespaces": ["a"], "access": "read-only"}, {"token": "t", "namespaces": ["b"], "access": "read-only"}]}"#,
         #"tokens file: entry 2 repeats the token of an earlier entry"#),
        ("[1", "tokens file: not valid JSON"),
    ])
    func malformedTokensFilesAreRejected(text: String, message: String) throws {
        let error = #expect(throws: ServerError.self) { try TokenFile(parsing: Data(text.utf8)) }
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
    }

    @Test func patternsMatchPrefixesOnly() throws {
        let token = try AccessToken(secret: "s", namespaces: ["team", "agent-*"], canWrite: true)
        #expect(token.allows(try Namespace("team")))
        #expect(token.allows(try Namespace("agent-1")))
        #expect(token.allows(try Namespace("agent-")))
        #expect(!token.allows(try Namespace("teams")))
        #expect(!token.allows(try Namespace("agent")))
        let all = try AccessToken(secret: "s", namespaces: ["*"], canWrite: false)
        #expect(all.allows(try Namespace("anything")))
    }
}

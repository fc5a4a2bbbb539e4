import AgentMemory
import AgentMemoryJSON
import Foundation
import Testing

/// The HTTP server as an attacker meets it: `agent-memory serve` with a tokens file, a victim
/// namespace holding a secret, and requests with hostile paths and the wrong tokens.
@Suite("Security: the HTTP server's paths and tokens", .serialized)
struct HTTPSecurityTests {
    let attackerToken = "amk-attacker-\(UUID().uuidString)"
    let readOnlyToken = "amk-reader-\(UUID().uuidString)"
    let victimToken = "amk-victim-\(UUID().uuidString)"
    let secret = "victim-secret-\(UUID().uuidString)"
    let victim = try! Namespace("victim")

    /// Starts a server on a fresh SQLite file with three tokens (the attacker's read-write one on
    /// `attacker`, a read-only one and the victim's read-write one on `victim`) and the victim's records.
    func withServer(_ body: (ServeChild, String) async throws -> Void) async throws {
        let folder = try scratchDirectory("http-security")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("memory.sqlite").path
        do {
            let store = try SQLiteMemoryStore(path: path)
            for key in ["k", "notes/secret", "..", "a/b"] { try await store.put(MemoryKey(key), value: .string(secret), in: victim) }
        }
        let tokens: JSONValue = [
            "tokens": [
                ["token": .string(attackerToken), "namespaces": ["attacker"], "access": "read-write", "agent": "attacker"],
                ["token": .string(readOnlyToken), "namespaces": ["victim"], "access": "read-only"],
                ["token": .string(victimToken), "namespaces": ["victim"], "access": "read-write"],
            ],
        ]
        let tokensFile = folder.appendingPathComponent("tokens.json")
        try tokens.jsonData().write(to: tokensFile)
        let server = try await ServeChild.start(["--store", "sqlite:" + path, "--tokens", tokensFile.path], home: folder)
        defer { server.child.removeOutput() }
        try await body(server, path)
        try await server.child.kill()
    }

    /// The victim's records and change log, as a fresh process reads them.
    func victimState(_ path: String) async throws -> String {
        let store = try SQLiteMemoryStore(path: path)
        let records = try await store.allRecords(in: victim).map { "\($0.key)=\($0.value.jsonString())@\($0.version)" }
        let changes = try await store.changes(in: victim, since: 0, limit: 1000).map { "\($0.sequence):\($0.key):\($0.operation.rawValue)" }
        return (records + changes).joined(separator: "\n")
    }

    /// Hostile request targets, each meant to reach the victim's namespace from the attacker's.
    static let hostilePaths: [String] = [
        "/memory/victim/k", "/memory/victim", "/memory/victim?limit=100", "/memory/Victim/k", "/memory/vict%69m/k",
        "/memory/victim%2Fk", "/memory/attacker/../victim/k", "/memory/attacker/..%2Fvictim%2Fk",
        "/memory/attacker%2F..%2Fvictim/k", "/memory/%2e%2e/victim/k", "/memory/./victim/k", "/memory/attacker/%2e%2e/%2e%2e/victim/k",
        "//memory/victim/k", "/memory//victim/k", "/memory/victim%00/k", "/memory/attacker%00victim/k", "/memory/attacker/%00",
        "/memory/attacker%C0%AFvictim/k", "/memory/attacker/%C0%AE%C0%AE%C0%AFvictim%C0%AFk", "/memory/attacker/%E0%80%AF..%E0%80%AFvictim",
        "/memory/attacker\\..\\victim/k", "/memory/attacker/%5C..%5Cvictim%5Ck", "/memory/victim/notes%2Fsecret",
        "/memory/victim/k/append", "/search/victim?q=secret", "/search/victim?q=victim", "/changes/victim", "/changes/victim?since=0",
        "/memory/attacker?prefix=../victim/", "/memory/attacker?cursor=../victim", "/search/attacker?q=victim-secret",
    ]

    @Test("hostile paths with a token for another namespace read and change nothing of the victim's")
    func hostilePathsReachNothing() async throws {
        try await withServer { server, path in
            let before = try await victimState(path)
            var refused = 0, allowed = 0
            for target in Self.hostilePaths {
                for method in ["GET", "PUT", "DELETE", "POST"] {
                    let body = method == "PUT" || method == "POST" ? Array(#"{"value": "overwritten by the attacker"}"#.utf8) : []
                    let port = server.port, token = attackerToken
                    let response = await onThread {
                        httpExchange(port: port, method: method, target: Array(target.utf8), headers: [("Authorization", "Bearer \(token)")], body: body)
                    }
                    let result = try #require(response, "\(method) \(target): no response")
                    #expect(!result.body.contains(secret.utf8), "\(method) \(target) returned the victim's secret: \(String(decoding: result.body, as: UTF8.self))")
                    if (200..<300).contains(result.status) { allowed += 1 } else { refused += 1 }
                }
            }
            #expect(try await victimState(path) == before)
            print("HTTPSecurityTests.hostilePaths: \(Self.hostilePaths.count * 4) requests, \(refused) refused, \(allowed) answered inside the attacker's namespace")
        }
    }

    @Test("missing, malformed, wrong, read-only and other-namespace tokens: 401 or 403 and no change")
    func tokens() async throws {
        try await withServer { server, path in
            let before = try await victimState(path)
            let port = server.port
            let cases: [(label: String, header: String?, method: String, status: Int)] = [
                ("no token, read", nil, "GET", 401), ("no token, write", nil, "PUT", 401),
                ("not a bearer header", "Basic \(victimToken)", "PUT", 401), ("empty bearer", "Bearer ", "PUT", 401),
                ("wrong token", "Bearer amk-wrong", "PUT", 401), ("the victim's token minus a byte", "Bearer \(victimToken.dropLast())", "PUT", 401),
                ("the victim's token plus a byte", "Bearer \(victimToken)x", "PUT", 401),
                ("the victim's token in another case", "Bearer \(victimToken.uppercased())", "GET", 401),
                ("read-only token writing", "Bearer \(readOnlyToken)", "PUT", 403),
                ("read-only token deleting", "Bearer \(readOnlyToken)", "DELETE", 403),
                ("another namespace's token reading", "Bearer \(attackerToken)", "GET", 403),
                ("another namespace's token writing", "Bearer \(attackerToken)", "PUT", 403),
            ]
            for (label, header, method, status) in cases {
                let body = method == "PUT" ? Array(#"{"value": "changed"}"#.utf8) : []
                let response = await onThread {
                    httpExchange(port: port, method: method, target: Array("/memory/victim/k".utf8), headers: header.map { [("Authorization", $0)] } ?? [], body: body)
                }
                #expect(response?.status == status, "\(label): \(response.map { "\($0.status) \(String(decoding: $0.body, as: UTF8.self))" } ?? "no response")")
                #expect(response.map { !$0.body.contains(secret.utf8) } ?? true, "\(label)")
            }
            #expect(try await victimState(path) == before)
            // The right tokens do work (so the refusals above are about the tokens).
            let read = await onThread {
                httpExchange(port: port, method: "GET", target: Array("/memory/victim/k".utf8), headers: [("Authorization", "Bearer \(readOnlyToken)")])
            }
            #expect(read?.status == 200 && read?.body.contains(secret.utf8) == true)
            let token = victimToken
            let write = await onThread {
                httpExchange(port: port, method: "PUT", target: Array("/memory/victim/k".utf8), headers: [("Authorization", "Bearer \(token)")], body: Array(#"{"value": "v2"}"#.utf8))
            }
            #expect(write?.status == 200)
        }
    }

    /// `RequestTarget` split the path on `/` and the query on `?` as Swift Characters, so a
    /// separator followed by a combining mark (U+0300...) was not seen (defect 5, fixed, in
    /// RELIABILITY.md, found by fuzz-http-request). Through the server it is not reachable: the
    /// HTTP parser refuses a request target with raw non-ASCII bytes. This pins that: such a
    /// request is refused, or stored under exactly its key, never routed anywhere else.
    @Test("a raw non-ASCII request target is refused or stored under its own key, never routed elsewhere")
    func combiningMarkAfterSlash() async throws {
        try await withServer { server, path in
            let before = try await victimState(path)
            let port = server.port, token = victimToken
            let raw = Array("/memory/victim/".utf8) + [0xCC, 0x81] + Array("accent".utf8)
            let put = await onThread {
                httpExchange(port: port, method: "PUT", target: raw, headers: [("Authorization", "Bearer \(token)")], body: Array(#"{"value": "v"}"#.utf8))
            }
            let status = try #require(put?.status)
            #expect(status == 400 || status == 200, "\(status) \(String(decoding: put?.body ?? [], as: UTF8.self))")
            if status == 200 {
                let get = await onThread {
                    httpExchange(port: port, method: "GET", target: Array("/memory/victim/%CC%81accent".utf8), headers: [("Authorization", "Bearer \(token)")])
                }
                #expect(get?.status == 200)
            } else {
                #expect(try await victimState(path) == before)
            }
        }
    }
}

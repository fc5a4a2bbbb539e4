import AgentMemory
import Foundation
import HTTPTypes
import Hummingbird

/// Who made a request, as far as the server is concerned: the author of its writes and the
/// key its rate limit is counted under.
struct Caller: Sendable {
    /// The agent id recorded as the author of writes.
    let agent: String?
    /// What the rate limiter counts under: the token's position in the file, or the client address.
    let rateKey: String
    /// Whether the caller may write (always, when the server runs open).
    let canWrite: Bool
}

/// Checks `Authorization: Bearer` against the tokens file (when there is one) and a namespace.
struct Authorization: Sendable {
    /// The tokens, or `nil` when the server runs open on loopback.
    let tokens: TokenFile?
    /// The author of writes when the server runs open.
    let openAgent: String?

    /// The caller of `request`, when it may use `namespace` (any namespace when `nil`) for
    /// reading, or writing when `write`; otherwise 401 (no or unknown token) or 403 (not allowed).
    func caller(of request: Request, address: String, namespace: Namespace?, write: Bool) throws(HTTPFailure) -> Caller {
        guard let tokens else { return Caller(agent: openAgent, rateKey: "address:" + address, canWrite: true) }
        guard let header = request.headers[.authorization] else {
            throw HTTPFailure(unauthorized("Missing bearer token: send Authorization: Bearer TOKEN"))
        }
        let scheme = header.prefix(7)
        guard scheme.lowercased() == "bearer ", header.count > 7 else {
            throw HTTPFailure(unauthorized("Malformed Authorization header: send Authorization: Bearer TOKEN"))
        }
        let presented = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard let token = tokens.match(presented) else {
            throw HTTPFailure(unauthorized("Invalid bearer token"))
        }
        if let namespace, !token.allows(namespace) {
            throw HTTPFailure(JSONResponses.error(.forbidden, "This token may not use namespace \(namespace.name)"))
        }
        if write && !token.canWrite {
            throw HTTPFailure(JSONResponses.error(.forbidden, "This token is read-only: it may not write to namespace \(namespace?.name ?? "")"))
        }
        let index = tokens.tokens.firstIndex { $0.secret == token.secret } ?? 0
        return Caller(agent: token.agent, rateKey: "token:\(index)", canWrite: token.canWrite)
    }

    private func unauthorized(_ message: String) -> Response {
        JSONResponses.error(.unauthorized, message, headers: [.wwwAuthenticate: "Bearer"])
    }
}

import AgentMemory
import Foundation
import HTTPTypes
import Hummingbird

/// Builds the server's JSON responses; every error body is `{"detail": "..."}`, as BotWire's.
enum JSONResponses {
    /// A JSON body with `status` and optional extra headers.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let buffer = ByteBuffer(bytes: value.jsonData())
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: buffer))
    }

    /// An error: `{"detail": message}` plus `extra` members.
    static func error(_ status: HTTPResponse.Status, _ message: String, extra: [(String, JSONValue)] = [], headers: HTTPFields = [:]) -> Response {
        json(.object(JSONObject([("detail", .string(message))] + extra)), status: status, headers: headers)
    }

    /// The response for a store error: 400 for bad input, 412 for a version conflict (with the
    /// current version), 403 for a read-only store, 503 when the store is unavailable, else 500.
    static func storeError(_ error: MemoryError) -> Response {
        switch error.code {
        case .invalidKey, .invalidNamespace, .invalidArgument, .valueTooLarge, .quotaExceeded:
            return Self.error(.badRequest, error.message)
        case .versionConflict:
            let current = error.currentVersion ?? 0
            var headers: HTTPFields = [:]
            if current > 0 { headers[.eTag] = entityTag(current) }
            return Self.error(.preconditionFailed, error.message, extra: [("current_version", .int(current))], headers: headers)
        case .readOnly, .accessDenied:
            return Self.error(.forbidden, error.message)
        case .unavailable:
            return Self.error(.serviceUnavailable, error.message)
        default:
            return Self.error(.internalServerError, error.message)
        }
    }

    /// The `ETag` of a record version: the version in quotes.
    static func entityTag(_ version: Int) -> String { "\"\(version)\"" }

    /// The version an `If-Match` header names (`"3"`, `3` or `W/"3"`), `nil` when absent;
    /// throws a 400 message when it is not a version.
    static func ifMatchVersion(_ request: Request) throws(HTTPFailure) -> Int? {
        guard let text = request.headers[.ifMatch] else { return nil }
        var tag = Substring(text.trimmingCharacters(in: .whitespaces))
        if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
        if tag.hasPrefix("\""), tag.hasSuffix("\""), tag.count >= 2 { tag = tag.dropFirst().dropLast() }
        guard let version = Int(tag), version >= 0 else {
            throw HTTPFailure(Self.error(.badRequest, "If-Match must be a record version as given in ETag, e.g. \"3\" (\"0\": the key must not exist)"))
        }
        return version
    }
}

/// A request answered early with an error response (bad input, auth, limits).
struct HTTPFailure: Error {
    /// The response to send.
    let response: Response

    init(_ response: Response) { self.response = response }
}

import ClaudeMessages
import AgentMemoryJSON
import AgentMemoryTesting
import ClaudeClient
import Foundation
import Testing

@Suite("Retries and typed errors")
struct RetryTests {
    @Test("529 with retry-after-ms, then success")
    func overloadedThenSuccess() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(
            .error(status: 529, type: "overloaded_error", message: "Overloaded", headers: [("retry-after-ms", "1500")]),
            .message(textResponse("after retry")))
        let sleeps = SleepRecorder()
        let response = try await makeClient(server, sleeps: sleeps).createMessage(simpleRequest)
        #expect(response.text == "after retry")
        #expect(server.requests.count == 2)
        #expect(sleeps.sleeps == [.milliseconds(1500)])
        #expect(server.requests[0].bodyText == server.requests[1].bodyText)
    }

    @Test("429 with x-should-retry: false is not retried")
    func shouldRetryFalse() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(
            .error(status: 429, type: "rate_limit_error", message: "Slow down", requestID: "req_429",
                   headers: [("x-should-retry", "false"), ("retry-after", "1")]),
            .message(textResponse("never")))
        let sleeps = SleepRecorder()
        let error = await #expect(throws: ClaudeAPIError.self) { try await makeClient(server, sleeps: sleeps).createMessage(simpleRequest) }
        #expect(error?.status == 429)
        #expect(error?.errorType == "rate_limit_error")
        #expect(error?.requestID == "req_429")
        #expect(server.requests.count == 1)
        #expect(sleeps.sleeps.isEmpty)
    }

    @Test("x-should-retry: true retries a status that is not retried otherwise")
    func shouldRetryTrue() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(
            .error(status: 400, type: "invalid_request_error", message: "flaky", headers: [("x-should-retry", "true")]),
            .message(textResponse("ok")))
        let response = try await makeClient(server).createMessage(simpleRequest)
        #expect(response.text == "ok")
        #expect(server.requests.count == 2)
    }

    @Test("400 with an API error body is a typed error, not retried")
    func badRequest() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(.error(status: 400, type: "invalid_request_error", message: "max_tokens: must be positive", requestID: "req_abc"))
        let error = await #expect(throws: ClaudeAPIError.self) {
            try await makeClient(server, apiKey: "sk-secret-400").createMessage(simpleRequest)
        }
        #expect(error?.kind == .api)
        #expect(error?.status == 400)
        #expect(error?.errorType == "invalid_request_error")
        #expect(error?.message == "max_tokens: must be positive")
        #expect(error?.requestID == "req_abc")
        #expect(error?.description == "Claude API error 400 invalid_request_error: max_tokens: must be positive (request-id req_abc)")
        #expect(error.map { String(reflecting: $0).contains("sk-secret-400") } == false)
        #expect(server.requests.count == 1)
    }

    @Test("5xx with a body that is not JSON: retried twice, then an error quoting the body")
    func serverErrorNotJSON() async throws {
        let server = try ScriptedMessagesServer()
        let page = "<html><body>502 Bad Gateway " + String(repeating: "x", count: 300) + "</body></html>"
        for _ in 0..<3 { server.enqueue(.raw(status: 502, body: Array(page.utf8))) }
        let sleeps = SleepRecorder()
        let error = await #expect(throws: ClaudeAPIError.self) { try await makeClient(server, sleeps: sleeps).createMessage(simpleRequest) }
        #expect(error?.status == 502)
        #expect(error?.message.contains("<html><body>502 Bad Gateway xxx") == true)
        #expect((error?.message.utf8.count ?? 0) < 300)
        #expect(server.requests.count == 3)
        #expect(sleeps.sleeps == [.milliseconds(500), .milliseconds(1000)])
    }

    @Test("the API key echoed by a server is redacted from errors")
    func echoedKeyRedacted() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(.error(status: 401, type: "authentication_error", message: "invalid x-api-key sk-echoed-key"))
        let error = await #expect(throws: ClaudeAPIError.self) {
            try await makeClient(server, apiKey: "sk-echoed-key").createMessage(simpleRequest)
        }
        #expect(error?.message == "invalid x-api-key [redacted]")
    }

    @Test("a dropped connection is retried")
    func droppedConnectionRetried() async throws {
        let server = try ScriptedMessagesServer()
        // A fresh connection is dropped; libcurl may resend silently on a reused one, hence two.
        server.enqueue(.dropConnection, .dropConnection, .message(textResponse("ok")))
        let response = try await makeClient(server, maxRetries: 3).createMessage(simpleRequest)
        #expect(response.text == "ok")
        #expect(server.requests.count == 3)
    }

    @Test("a timeout is retried, then reported")
    func timeout() async throws {
        // The late answer comes 8 timeouts after the request, so a loaded machine cannot make it
        // "in time"; the timeout is 5 s, so that the answer that is in time is not late on a
        // machine that keeps the client's callbacks waiting a few seconds (CI saw 10 s).
        let server = try ScriptedMessagesServer()
        server.enqueue(
            ScriptedResponse.message(textResponse("late")).delayed(by: .seconds(40)),
            .message(textResponse("in time")))
        let response = try await makeClient(server, timeout: .seconds(5)).createMessage(simpleRequest)
        #expect(response.text == "in time")
        #expect(server.requests.count == 2)

        let slow = try ScriptedMessagesServer()
        slow.enqueue(ScriptedResponse.message(textResponse("late")).delayed(by: .seconds(40)))
        let error = await #expect(throws: ClaudeAPIError.self) {
            try await makeClient(slow, maxRetries: 0, timeout: .seconds(5)).createMessage(simpleRequest)
        }
        #expect(error?.kind == .timeout)
    }

    @Test("backoff: retry-after-ms, retry-after seconds and dates, else min(0.5 * 2^n, 8) s with jitter")
    func backoffPolicy() {
        let now = Date(timeIntervalSince1970: 1_445_412_470)  // Wed, 21 Oct 2015 07:27:50 GMT
        #expect(RetryPolicy.delay(retry: 0, headers: ["retry-after-ms": "250"], jitter: 1) == .milliseconds(250))
        #expect(RetryPolicy.delay(retry: 0, headers: ["Retry-After": "2"], jitter: 1) == .seconds(2))
        #expect(RetryPolicy.delay(retry: 0, headers: ["retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"], jitter: 1, now: now) == .seconds(10))
        #expect(RetryPolicy.delay(retry: 0, headers: ["retry-after": "3600"], jitter: 1) == .milliseconds(500))
        #expect(RetryPolicy.delay(retry: 0, headers: nil, jitter: 1) == .milliseconds(500))
        #expect(RetryPolicy.delay(retry: 1, headers: nil, jitter: 0.75) == .milliseconds(750))
        #expect(RetryPolicy.delay(retry: 3, headers: nil, jitter: 1) == .seconds(4))
        #expect(RetryPolicy.delay(retry: 9, headers: nil, jitter: 1) == .seconds(8))
        for status in [408, 409, 429, 500, 502, 503, 529] { #expect(RetryPolicy.shouldRetry(status: status, headers: [:])) }
        for status in [400, 401, 403, 404, 413, 422] { #expect(!RetryPolicy.shouldRetry(status: status, headers: [:])) }
        #expect(!RetryPolicy.shouldRetry(status: 503, headers: ["X-Should-Retry": "false"]))
        #expect(RetryPolicy.shouldRetry(status: 400, headers: ["x-should-retry": "true"]))
    }
}


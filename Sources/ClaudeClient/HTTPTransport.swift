import Foundation

/// HTTP header fields in order, looked up without regard to case.
public struct TransportHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// The fields, in order.
    public var fields: [Field]

    /// One header field.
    public struct Field: Sendable, Hashable {
        /// The name as written.
        public var name: String
        /// The value.
        public var value: String
        /// Creates a field.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Creates headers from fields.
    public init(_ fields: [Field] = []) { self.fields = fields }

    /// Creates headers from name-value pairs, in order.
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { Field(name: $0.0, value: $0.1) }
    }

    /// The first value of the field `name` (any case), or `nil`.
    public subscript(name: String) -> String? {
        let lowered = name.lowercased()
        return fields.first { $0.name.lowercased() == lowered }?.value
    }

    /// Appends a field.
    public mutating func add(_ name: String, _ value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Iterates the fields in order.
    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }
}

/// An HTTP request for a ``HTTPTransport``.
public struct TransportRequest: Sendable {
    /// `POST`, `GET`, ...
    public var method: String
    /// The full URL.
    public var url: URL
    /// The header fields.
    public var headers: TransportHeaders
    /// The body bytes.
    public var body: Data
    /// How long the transport waits without receiving anything before it gives up.
    public var timeout: Duration

    /// Creates a request.
    public init(method: String, url: URL, headers: TransportHeaders, body: Data, timeout: Duration) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// An HTTP response whose body arrives as a stream of byte chunks.
public struct TransportResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The header fields.
    public var headers: TransportHeaders
    /// The body, chunk by chunk; it ends with an ``HTTPTransportError`` when the connection fails.
    public var body: AsyncThrowingStream<Data, any Error>

    /// Creates a response.
    public init(status: Int, headers: TransportHeaders, body: AsyncThrowingStream<Data, any Error>) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Creates a response with a body that is already complete.
    public init(status: Int, headers: TransportHeaders, body: Data) {
        self.init(status: status, headers: headers, body: AsyncThrowingStream { continuation in
            if !body.isEmpty { continuation.yield(body) }
            continuation.finish()
        })
    }

    /// Reads the whole body (stopping after `limit` bytes).
    public func collectBody(limit: Int = 64 << 20) async throws -> Data {
        var data = Data()
        for try await chunk in body {
            data.append(chunk)
            if data.count >= limit { break }
        }
        return data
    }
}

/// A failure of the connection rather than of the API: the client retries these.
public struct HTTPTransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Whether the failure was a timeout (else the connection failed or was cut).
    public var isTimeout: Bool
    /// What happened.
    public var message: String

    /// Creates an error.
    public init(isTimeout: Bool = false, _ message: String) {
        self.isTimeout = isTimeout
        self.message = message
    }

    /// What happened.
    public var description: String { message }
}

/// Sends HTTP requests: the client's only view of the network, so tests and hosts can swap it.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns as soon as the status and headers have arrived; the body
    /// streams afterwards. Throws ``HTTPTransportError`` when no response arrives, and
    /// `CancellationError` when the task is cancelled.
    func send(_ request: TransportRequest) async throws -> TransportResponse
}

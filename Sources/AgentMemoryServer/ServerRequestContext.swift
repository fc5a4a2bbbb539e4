import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage plus the client's address, which the rate
/// limiter counts under when the server runs without tokens.
struct ServerRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    var coreContext: CoreRequestContextStorage
    /// The client's IP address, or `unknown`.
    let clientAddress: String

    init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}

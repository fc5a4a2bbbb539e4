#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `buffer` to `descriptor` whole: `write(2)` again after a short write or an
/// interruption, and, on a descriptor someone made non-blocking, after `poll(2)` says it takes
/// more. Returns the `errno` of the write that failed, or `nil`. Shared by the CLI's output
/// and the MCP stdio transport's answers.
package func writeAll(_ buffer: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32? {
    var offset = 0
    while offset < buffer.count {
        let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
        if written >= 0 {
            offset += written
        } else if errno == EINTR {
            continue
        } else if errno == EAGAIN || errno == EWOULDBLOCK {
            var waiting = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&waiting, 1, -1)
        } else {
            return errno
        }
    }
    return nil
}

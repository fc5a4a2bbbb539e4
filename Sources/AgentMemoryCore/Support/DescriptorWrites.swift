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

/// Reads `descriptor` to its end: a regular file in reads of its whole size (one, then one
/// that finds the end), anything else (a pipe, a terminal) 64 KiB at a time into a buffer that
/// doubles; `read(2)` again after an interruption, and, on a descriptor someone made
/// non-blocking, after `poll(2)` says it has more. Returns the bytes, or the `errno` of the
/// read that failed. Foundation's `readDataToEndOfFile()` read 4 KiB at a time (110 reads for
/// an `exec` message of 2,000 calls; BENCHMARKS.md, round fifty) and stops the process on an
/// error.
package func readAll(from descriptor: Int32) -> Result<[UInt8], ReadFailure> {
    var status = stat()
    let size = fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG ? Int(status.st_size) : 0
    var bytes = [UInt8](repeating: 0, count: max(size + 1, 65_536))
    var count = 0
    while true {
        if count == bytes.count { bytes.append(contentsOf: repeatElement(0, count: bytes.count)) }
        let got = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + count, $0.count - count) }
        if got > 0 {
            count += got
        } else if got == 0 {
            bytes.removeSubrange(count...)
            return .success(bytes)
        } else if errno == EINTR {
            continue
        } else if errno == EAGAIN || errno == EWOULDBLOCK {
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&waiting, 1, -1)
        } else {
            return .failure(ReadFailure(code: errno))
        }
    }
}

/// A `read(2)` that failed, with its `errno`.
package struct ReadFailure: Error, CustomStringConvertible {
    /// The `errno` of the failed read.
    package let code: Int32

    package var description: String { String(cString: strerror(code)) }
}


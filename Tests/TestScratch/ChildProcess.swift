import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A program the tests start, with the members of Foundation's `Process` that they use and the
/// same meaning, started with `posix_spawn` instead.
///
/// Why not `Process`: on Linux, `Process.run()` lists `/proc/self/fd` to find the descriptors
/// to close in the child, and copies each entry's whole 256-byte `d_name` where the entry is
/// only as long as its name (swift-corelibs-foundation, `findMaximumOpenFromProcSelfFD`; pull
/// request 5472, "Process.run() on Linux crashes intermittently", fixed it after Swift 6.3.1).
/// When the process holds about 1,360 descriptors or more, readdir's 32 KB buffer fills, an
/// entry sits at its end, and the copy reads past the buffer: a SIGSEGV when the next page is
/// not mapped. The test suites run in parallel, each SQLite store with a pool of connections
/// on two files, and CI's test process died that way (AddressSanitizer reports the over-read
/// at `MCPStdioTests.sigterm`). Here the child closes every descriptor from 3 up with glibc's
/// `posix_spawn_file_actions_addclosefrom_np`, which lists nothing.
///
/// As with `Process`: the child gets a process group of its own; a standard stream left as is
/// is the parent's, `nil` or `FileHandle.nullDevice` is `/dev/null`, a `FileHandle` is that
/// descriptor, and a `Pipe` is its end (the parent's copy of that end is closed once the child
/// runs). ``terminationStatus`` is the exit status, or the signal that ended the child. Unlike
/// `Process`, the child starts as from a shell: every signal at its default action and none
/// blocked. (The Dispatch worker threads the tests' tasks run on block most signals, SIGTERM
/// among them (`SigBlk` in `/proc/PID/task/*/status`), and a spawned child inherits its
/// thread's mask: it would outlive `terminate()`.)
public final class ChildProcess: @unchecked Sendable {
    /// The program to run.
    public var executableURL: URL?
    /// Its arguments (without the program's own name).
    public var arguments: [String]?
    /// Its environment; `nil`: this process's.
    public var environment: [String: String]?
    /// Its standard input: the parent's unless set (see the type's documentation).
    public var standardInput: Any? = Stream.inherited
    /// Its standard output: the parent's unless set.
    public var standardOutput: Any? = Stream.inherited
    /// Its standard error: the parent's unless set.
    public var standardError: Any? = Stream.inherited

    /// What a stream left as is means.
    private enum Stream { case inherited }

    private struct Exit {
        var pid: pid_t = 0
        var running = false
        var status: Int32 = 0
        var reason: Process.TerminationReason = .exit
    }

    private let condition = NSCondition()
    private var exit = Exit()

    /// A process to configure, then ``run()``.
    public init() {}

    /// The child's process id (0 before ``run()``).
    public var processIdentifier: Int32 { locked { $0.pid } }
    /// Whether the child was started and has not been reaped yet.
    public var isRunning: Bool { locked { $0.running } }
    /// The child's exit status, or the number of the signal that ended it.
    public var terminationStatus: Int32 { locked { $0.status } }
    /// Whether the child exited or a signal ended it.
    public var terminationReason: Process.TerminationReason { locked { $0.reason } }

    /// Starts the child; throws (with `errno`'s meaning) when it cannot be started.
    public func run() throws {
        guard let executable = executableURL?.path else {
            throw NSError(domain: NSPOSIXErrorDomain, code: Int(ENOENT), userInfo: [NSLocalizedDescriptionKey: "no executableURL"])
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var nullDevice: FileHandle?
        for (target, stream) in [(STDIN_FILENO, standardInput), (STDOUT_FILENO, standardOutput), (STDERR_FILENO, standardError)] {
            let source: Int32?
            switch stream {
            case is Stream: source = nil
            case let pipe as Pipe: source = target == STDIN_FILENO ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor
            case let handle as FileHandle where handle !== FileHandle.nullDevice: source = handle.fileDescriptor
            default:
                nullDevice = try nullDevice ?? FileHandle(forUpdating: URL(fileURLWithPath: "/dev/null"))
                source = nullDevice!.fileDescriptor
            }
            if let source, source != target { try Self.check(posix_spawn_file_actions_adddup2(&actions, source, target)) }
        }
        try Self.closeDescriptors(from: 3, in: &actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var every = sigset_t(), none = sigset_t()
        sigfillset(&every)
        sigemptyset(&none)
        try Self.check(posix_spawnattr_setsigdefault(&attributes, &every))
        try Self.check(posix_spawnattr_setsigmask(&attributes, &none))
        try Self.check(posix_spawnattr_setpgroup(&attributes, 0))
        try Self.check(posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)))

        let argv = Self.cStrings([executable] + (arguments ?? []))
        let environment = self.environment ?? ProcessInfo.processInfo.environment
        let envp = Self.cStrings(environment.map { "\($0.key)=\($0.value)" })
        defer {
            for string in argv + envp { free(string) }
        }
        var pid: pid_t = 0
        let spawned = argv.withUnsafeBufferPointer { arguments in
            envp.withUnsafeBufferPointer { environment in
                posix_spawn(&pid, executable, &actions, &attributes, arguments.baseAddress!, environment.baseAddress!)
            }
        }
        try? nullDevice?.close()
        guard spawned == 0 else {
            throw NSError(domain: NSPOSIXErrorDomain, code: Int(spawned), userInfo: [
                NSLocalizedDescriptionKey: "cannot start \(executable): \(String(cString: strerror(spawned)))",
            ])
        }
        if let pipe = standardInput as? Pipe { try? pipe.fileHandleForReading.close() }
        if let pipe = standardOutput as? Pipe { try? pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe { try? pipe.fileHandleForWriting.close() }
        locked { exit in
            exit.pid = pid
            exit.running = true
        }
        let child = pid
        let reaper = Thread { [self] in reap(child) }
        reaper.name = "ChildProcess \(child)"
        reaper.start()
    }

    /// Blocks until the child has exited.
    public func waitUntilExit() {
        condition.lock()
        defer { condition.unlock() }
        while exit.running { condition.wait() }
    }

    /// Sends the child SIGTERM (nothing once it was reaped, or before it ran).
    public func terminate() { send(SIGTERM) }

    /// Waits for the child to exit, polling (no thread of the cooperative pool blocks), and
    /// returns its status as a shell gives it: the exit status, or 128 plus the signal's number.
    public func exitStatus() async throws -> Int32 {
        while isRunning { try await Task.sleep(for: .milliseconds(5)) }
        return terminationReason == .uncaughtSignal ? 128 + terminationStatus : terminationStatus
    }

    /// Sends `number` to the child while it is not reaped: never to pid 0 (this process's
    /// whole group) nor to a pid the system may have given another process since.
    private func send(_ number: Int32) {
        condition.lock()
        defer { condition.unlock() }
        if exit.running, exit.pid > 0 { _ = kill(exit.pid, number) }
    }

    private func reap(_ pid: pid_t) {
        var status: Int32 = 0
        var reaped: pid_t
        repeat { reaped = waitpid(pid, &status, 0) } while reaped == -1 && errno == EINTR
        condition.lock()
        if reaped != pid {
            // Reaped elsewhere (no status to report): -1, which no exit gives, rather than a success.
            exit.status = -1
            exit.reason = .exit
        } else if status & 0x7f == 0 {
            exit.status = (status >> 8) & 0xff
            exit.reason = .exit
        } else {
            exit.status = status & 0x7f
            exit.reason = .uncaughtSignal
        }
        exit.running = false
        condition.broadcast()
        condition.unlock()
    }

    private func locked<T>(_ body: (inout Exit) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body(&exit)
    }

    private static func check(_ code: Int32) throws {
        guard code == 0 else {
            throw NSError(domain: NSPOSIXErrorDomain, code: Int(code), userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(code))])
        }
    }

    /// A NULL-terminated array of `strdup`ed copies (the caller frees them).
    private static func cStrings(_ strings: [String]) -> [UnsafeMutablePointer<CChar>?] {
        strings.map { strdup($0) } + [nil]
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), looked up at run
    /// time: Swift's Glibc module leaves it out.
    private static let addCloseFrom: AddCloseFrom? = {
        guard let library = dlopen(nil, RTLD_NOW), let address = dlsym(library, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(address, to: AddCloseFrom.self)
    }()

    /// Makes the child close its descriptors from `first` up, in one action (never a listing
    /// of them, which is what crashed `Process`).
    private static func closeDescriptors(from first: Int32, in actions: inout posix_spawn_file_actions_t) throws {
        guard let addCloseFrom else {
            throw NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSYS), userInfo: [
                NSLocalizedDescriptionKey: "ChildProcess needs glibc 2.34 or later (posix_spawn_file_actions_addclosefrom_np)",
            ])
        }
        try check(addCloseFrom(&actions, first))
    }
}

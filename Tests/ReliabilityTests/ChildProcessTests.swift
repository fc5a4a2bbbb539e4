import Foundation
import Testing
import TestScratch

/// The tests' process starter (`TestScratch.ChildProcess`), which replaced Foundation's `Process`
/// after that crashed CI's test process: it must start children whatever this process holds open,
/// hand them none of it, and report their ends as `Process` does.
@Suite("ChildProcess: the tests' process starter")
struct ChildProcessTests {
    /// Runs `/bin/sh -c SCRIPT` with `input` on a pipe; returns its stdout, status and reason.
    private func shell(_ script: String, input: String = "") async throws -> (output: String, status: Int32, reason: Process.TerminationReason) {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        try stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        // Read to the end (on a thread of its own, not the cooperative pool's): the end comes
        // only if the parent's copy of the child's end was closed.
        let output = await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: stdout.fileHandleForReading.readDataToEndOfFile()) }.start()
        }
        while process.isRunning { try await Task.sleep(for: .milliseconds(2)) }
        return (String(decoding: output, as: UTF8.self), process.terminationStatus, process.terminationReason)
    }

    /// With 1,500 more descriptors open than the suites hold (Foundation's `Process.run()` read
    /// past its buffer from about 1,360), the child starts and inherits only its three streams.
    @Test func startsWithManyDescriptorsOpenAndHandsThemNone() async throws {
        let null = open("/dev/null", O_RDONLY)
        try #require(null >= 0)
        var extra: [Int32] = []
        defer {
            for descriptor in extra { close(descriptor) }
            close(null)
        }
        // Without FD_CLOEXEC, as a careless library would leave them.
        for _ in 0..<1_500 { extra.append(dup(null)) }
        #expect(!extra.contains(-1))
        let result = try await shell("ls /proc/$$/fd")
        #expect(result.status == 0)
        #expect(result.reason == .exit)
        let inherited = Set(result.output.split(separator: "\n").compactMap { Int32($0) })
        // 0, 1 and 2, and at most the descriptor ls reads the folder through.
        #expect(inherited.isSuperset(of: [0, 1, 2]) && inherited.count <= 4, "\(inherited.sorted())")
        #expect(inherited.isDisjoint(with: extra))
    }

    @Test func reportsExitStatusesSignalsAndPipes() async throws {
        let echoed = try await shell("cat; exit 7", input: "hello")
        #expect(echoed.output == "hello")
        #expect(echoed.status == 7)
        #expect(echoed.reason == .exit)
        // SIGTERM delivered, though this test's thread blocks it (see ChildProcess).
        let killed = try await shell("kill -TERM $$")
        #expect(killed.status == SIGTERM)
        #expect(killed.reason == .uncaughtSignal)
    }

    @Test func reportsAShellStatusAndRefusesAMissingProgram() async throws {
        for (script, expected) in [("exit 3", Int32(3)), ("kill -KILL $$", 128 + SIGKILL)] {
            let process = ChildProcess()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script]
            try process.run()
            #expect(try await process.exitStatus() == expected, "\(script)")
            process.waitUntilExit()
            #expect(!process.isRunning)
        }

        let missing = ChildProcess()
        missing.executableURL = URL(fileURLWithPath: "/nonexistent/program")
        #expect(throws: (any Error).self) { try missing.run() }
        #expect(!missing.isRunning)
        // No child: nothing is sent (a kill of pid 0 would reach this whole process group).
        missing.terminate()
        #expect(missing.processIdentifier == 0)
    }
}

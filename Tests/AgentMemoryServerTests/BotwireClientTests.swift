import Foundation
import Testing
import TestScratch

/// The real `botwire` Python client (PyPI) against `agent-memory serve`, through
/// scripts/botwire/check_client.py. Skipped when `python3 -c "import botwire"` fails.
@Suite struct BotwireClientTests {
    static let botwireInstalled: Bool = {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import botwire"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    @Test(.enabled(if: botwireInstalled, "the botwire client is not installed: pip install botwire"))
    func botwireClientWorksUnchanged() async throws {
        let serve = try ServeProcess(["serve", "--port", "0", "--store", "memory:"])
        let client = try await serve.client()
        let home = Scratch.directory("botwire")
        let output = home.appendingPathComponent("out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let python = ChildProcess()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", ServeProcess.packageRoot.appendingPathComponent("scripts/botwire/check_client.py").path, "botwire-test"]
        var environment = ProcessInfo.processInfo.environment
        environment["BOTWIRE_URL"] = "http://127.0.0.1:\(client.port)"
        python.environment = environment
        python.standardOutput = try FileHandle(forWritingTo: output)
        python.standardError = try FileHandle(forWritingTo: output)
        try python.run()
        while python.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        let text = try String(contentsOf: output, encoding: .utf8)
        #expect(python.terminationStatus == 0, "\(text)")
        #expect(text.contains("all botwire checks passed"), "\(text)")
        #expect(text.contains("ok   get 'café 日本'"))
        #expect(try await serve.stop() == 0)
    }
}

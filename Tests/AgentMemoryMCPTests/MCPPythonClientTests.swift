import Foundation
import Testing
import TestScratch

/// The official Python MCP client (`pip install mcp`) against the built `agent-memory mcp`,
/// through scripts/mcp/check_stdio.py.
@Suite("agent-memory mcp with the Python MCP client")
struct MCPPythonClientTests {
    /// Whether `python3 -c "import mcp"` succeeds.
    static let pythonClientAvailable: Bool = {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import mcp"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    @Test(
        "scripts/mcp/check_stdio.py negotiates, lists and calls every tool, lists and reads resources",
        .enabled(if: pythonClientAvailable, "skipped: the Python MCP client is not installed (pip install mcp)"))
    func pythonClient() async throws {
        let home = Scratch.directory("mcp-python")
        let output = home.appendingPathComponent("output")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", AgentMemoryProcess.packageRoot.appendingPathComponent("scripts/mcp/check_stdio.py").path,
            AgentMemoryProcess.executable.path,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["AGENT_MEMORY_HOME"] = home.path
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: output)
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        let text = String(decoding: try Data(contentsOf: output), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("agent-memory mcp with the Python MCP client: OK"), "\(text)")
        #expect(text.contains("protocol 2025-11-25 with agent-memory"), "\(text)")
        #expect(text.contains("5 tools: remember, recall, list_memory, forget, search_memory"), "\(text)")
    }
}

import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing
import TestScratch

/// What the store should hold after a sequence of tool calls: the executor's promise written
/// as a dictionary. Invalid calls change nothing.
struct ExecutorModel {
    var values: [String: JSONValue] = [:]

    /// Applies one call; returns whether the call is valid (so its result must not be an error).
    mutating func apply(_ call: ToolUse) -> Bool {
        guard case .object(let input) = call.input else { return false }
        func validKey(_ value: JSONValue?) -> String? {
            guard case .string(let key)? = value, !key.isEmpty, key.utf8.count <= 512,
                  !key.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }),
                  !key.hasPrefix("_agent_memory/")
            else { return nil }
            return key
        }
        let fields = Set(input.keys)
        switch call.name {
        case "remember":
            guard fields.isSubset(of: ["key", "value", "mode"]), let key = validKey(input["key"]),
                  case .string(let value)? = input["value"]
            else { return false }
            switch input["mode"] {
            case nil, .string("replace")?:
                values[key] = .string(value)
            case .string("append")?:
                switch values[key] {
                case nil: values[key] = .array([.string(value)])
                case .array(let items)?: values[key] = .array(items + [.string(value)])
                case .string(let text)?: values[key] = .string(text.isEmpty ? value : text + "\n" + value)
                default: return false
                }
            default:
                return false
            }
            return true
        case "recall", "forget":
            guard fields == ["key"], let key = validKey(input["key"]) else { return false }
            if call.name == "forget" { values[key] = nil }
            return true
        case "list_memory":
            return fields.isEmpty
        default:
            return false
        }
    }
}

@Suite("Executor against a model")
struct ExecutorModelTests {
    /// One random call, valid or not, over a few keys so that calls collide.
    static func randomCall(_ id: Int, _ random: inout SeededGenerator) -> ToolUse {
        let keys: [JSONValue] = ["k0", "k1", "k2", "notes", "héllo", "e\u{301}"]
        let key = keys.randomElement(using: &random)!
        let value = JSONValue.string(["a", "b c", "", "line\nbreak", "ünï"].randomElement(using: &random)!)
        let input: JSONValue
        let name: String
        switch Int.random(in: 0..<16, using: &random) {
        case 0...3: name = "remember"; input = ["key": key, "value": value]
        case 4...5: name = "remember"; input = ["key": key, "value": value, "mode": "append"]
        case 6...7: name = "recall"; input = ["key": key]
        case 8...9: name = "forget"; input = ["key": key]
        case 10: name = "list_memory"; input = [:]
        // invalid: each must change nothing and answer with an error
        case 11: name = "remember"; input = ["key": key]
        case 12: name = "remember"; input = ["key": .int(3), "value": value]
        case 13:
            name = "remember"
            input = ["key": [JSONValue.string(""), .string("bad\u{1}key"), .string(String(repeating: "x", count: 513)), .string("_agent_memory/x")]
                .randomElement(using: &random)!, "value": value]
        case 14: name = ["erase", "Remember", ""].randomElement(using: &random)!; input = ["key": key]
        default: name = "remember"; input = ["key": key, "value": value, "mode": ["prepend", "REPLACE"].randomElement(using: &random)!]
        }
        return ToolUse(id: "toolu_\(id)", name: name, input: input)
    }

    @Test("random valid and invalid calls on SQLite: final state equals the model's, one result per call")
    func randomSequences() async throws {
        let turns = trials("RELIABILITY_MODEL_TURNS", short: 300)
        let seed = ProcessInfo.processInfo.environment["RELIABILITY_SEED"].flatMap(UInt64.init) ?? 0x5EED_1234
        var random = SeededGenerator(state: seed)
        let folder = try scratchDirectory("model")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteMemoryStore(path: folder.appendingPathComponent("memory.sqlite").path)
        let namespace = try Namespace("model")
        let executor = MemoryToolExecutor(store: store, namespace: namespace, agent: "model", tools: [.remember, .recall, .listMemory, .forget])
        var model = ExecutorModel()
        var callID = 0
        for turn in 0..<turns {
            let calls = (0..<Int.random(in: 1...6, using: &random)).map { _ in
                callID += 1
                return Self.randomCall(callID, &random)
            }
            let results = await executor.execute(calls)
            #expect(results.compactMap(\.toolResult).map(\.toolUseID) == calls.map(\.id), "seed \(seed) turn \(turn)")
            #expect(results.count == calls.count)
            for (call, result) in zip(calls, results) {
                let valid = model.apply(call)
                #expect(result.toolResult?.isError == !valid, "seed \(seed) turn \(turn): \(call.name) \(call.input) -> \(result.toolResult?.text ?? "")")
            }
            if turn % 25 == 24 || turn == turns - 1 {
                var stored: [String: JSONValue] = [:]
                for record in try await store.allRecords(in: namespace) { stored[record.key] = record.value }
                #expect(stored.count == model.values.count && stored.allSatisfy { model.values[$0.key] == $0.value }, "seed \(seed) turn \(turn): store \(stored) model \(model.values)")
            }
        }
    }
}

// memory-stress: a small program that several processes run at once against one store, to
// show that concurrent writers lose nothing. Used by the CLI tests; also handy by hand:
//
//   memory-stress put-keys  STORE NAMESPACE PREFIX COUNT   distinct keys PREFIX0..PREFIX(COUNT-1)
//   memory-stress increment STORE NAMESPACE KEY COUNT      COUNT compare-and-set increments of KEY
//   memory-stress append    STORE NAMESPACE KEY COUNT      COUNT atomic appends of "<pid>-<n>" to KEY
//   memory-stress put-acked STORE NAMESPACE PREFIX COUNT   like put-keys, printing each key once its put returned
import AgentMemoryJSON
import AgentMemory
import AgentMemoryRuntime
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("memory-stress: \(message)\n".utf8))
    exit(2)
}

// As the `agent-memory` command does, so that the concurrency tests run SQLite as it does.
SQLiteMemoryStore.useMultiThreadSQLite()
let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 5, let count = Int(arguments[arguments.startIndex + 4]) else {
    fail("usage: memory-stress put-keys|put-acked|increment|append STORE NAMESPACE NAME COUNT")
}
let command = arguments[arguments.startIndex]
let store: any MemoryStore
let namespace: Namespace
do {
    store = try StoreLocation(parsing: arguments[arguments.startIndex + 1]).open()
    namespace = try Namespace(arguments[arguments.startIndex + 2])
} catch {
    fail("\(error)")
}
let name = arguments[arguments.startIndex + 3]
let agent = "stress-\(ProcessInfo.processInfo.processIdentifier)"

do {
    switch command {
    case "put-keys":
        for index in 0..<count {
            try await store.put("\(name)\(index)", value: .int(index), in: namespace, options: PutOptions(author: agent))
        }
    case "increment":
        var conflicts = 0
        for _ in 0..<count {
            while true {
                let current = try await store.get(name, in: namespace)
                let value = current?.value.intValue ?? 0
                do {
                    try await store.put(
                        name, value: .int(value + 1), in: namespace,
                        options: PutOptions(ifVersion: current?.version ?? 0, author: agent))
                    break
                } catch let error as MemoryError where error.code == .versionConflict {
                    conflicts += 1
                }
            }
        }
        print("conflicts retried: \(conflicts)")
    case "put-acked":
        for index in 0..<count {
            try await store.put("\(name)\(index)", value: .int(index), in: namespace, options: PutOptions(author: agent))
            FileHandle.standardOutput.write(Data("\(name)\(index)\n".utf8))
        }
    case "append":
        for index in 0..<count {
            try await store.append(name, value: .string("\(agent)-\(index)"), in: namespace, options: AppendOptions(author: agent))
        }
    default:
        fail("unknown command \(command)")
    }
    try await store.close()
} catch {
    fail("\(error)")
}

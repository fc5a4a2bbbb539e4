import AgentMemoryJSON
import AgentMemoryCore
import Foundation
import Testing

/// The write rule exists once: the same sequence of puts, appends, expiries and deletes, run
/// through every backend directly and through staged batches, leaves the same records and the
/// same change log, field by field.
@Suite("One write rule", .dropsPostgresSchemas)
struct WriteRuleTests {
    /// One step of the script: writes at the clock's time, or the clock moving on.
    enum Step {
        case write([MemoryOperation])
        case advance(seconds: Double)
    }

    static let script: [Step] = [
        .write([.put(key: "a", value: "one", options: PutOptions(author: "ann"))]),
        .advance(seconds: 1),
        .write([
            .put(key: "a", value: ["two", 2], options: PutOptions(ttl: .seconds(30), author: "bob")),
            .append(key: "list", value: "x", options: AppendOptions(author: "ann")),
        ]),
        .advance(seconds: 1),
        .write([
            .append(key: "list", value: ["y": true], options: AppendOptions(ifVersion: 1, author: "bob")),
            .append(key: "text", value: "first"),
            .append(key: "text", value: "second", options: AppendOptions(separator: "\n")),
            .put(key: "short", value: 1.5, options: PutOptions(ifVersion: 0, ttl: .seconds(5))),
        ]),
        .advance(seconds: 10),  // "short" expires; "a" keeps its 30 s
        .write([
            .put(key: "short", value: "reborn", options: PutOptions(ifVersion: 0, author: "cy")),
            .append(key: "a", value: "more", options: AppendOptions(author: "cy")),
        ]),
        .advance(seconds: 1),
        .write([
            .delete(key: "text", author: "ann"),
            .delete(key: "never-there"),
            .put(key: "日本", value: nil),
        ]),
        .advance(seconds: 30),  // "a" expires
        .write([.delete(key: "a", author: "bob"), .put(key: "last", value: [1, 2, 3])]),
    ]

    /// The records and change log a run leaves, with times in whole milliseconds (the SQL
    /// stores keep seconds as floating point or microseconds).
    struct Outcome: Equatable, CustomStringConvertible {
        var records: [String]
        var changes: [String]
        var results: [String]

        var description: String { (records + changes + results).joined(separator: "\n") }
    }

    static func milliseconds(_ date: Date?) -> String {
        date.map { String(Int64(($0.timeIntervalSince1970 * 1000).rounded())) } ?? "-"
    }

    static func describe(_ record: MemoryRecord?) -> String {
        guard let record else { return "none" }
        return [
            record.key, record.value.jsonString(), String(record.version), milliseconds(record.createdAt),
            milliseconds(record.updatedAt), record.author ?? "-", milliseconds(record.expiresAt),
        ].joined(separator: " ")
    }

    static func describe(_ outcome: WriteOutcome) -> String {
        let previous = outcome.previous.map { "v\($0.version) by \($0.author ?? "-") at \(milliseconds($0.updatedAt))" } ?? "none"
        return "\(describe(outcome.record)) deleted=\(outcome.deleted) previous=\(previous)"
    }

    /// Runs the script on `store`, each write step directly (`staged: false`) or as one
    /// staged batch committed at once.
    static func run(on store: any MemoryStore, clock: ManualClock, staged: Bool) async throws -> Outcome {
        var results: [String] = []
        for step in script {
            switch step {
            case .advance(let seconds):
                clock.advance(seconds: seconds)
            case .write(let operations) where staged:
                let batch = StagedBatch(store: store, namespace: main, now: clock.now)
                for operation in operations { results.append(describe(try await batch.stage(operation))) }
                try await batch.commit()
            case .write(let operations):
                results += try await store.apply(operations, in: main).map(describe)
            }
        }
        let records = try await store.allRecords(in: main).map(describe)
        let changes = try await store.changes(in: main, since: 0, limit: 100).map { change in
            "\(change.sequence) \(change.key) \(change.operation) v\(change.version) \(change.author ?? "-") \(milliseconds(change.time))"
        }
        return Outcome(records: records, changes: changes, results: results)
    }

    @Test(arguments: StoreKind.allCases)
    func everyBackendAndEveryStagedBatchFollowTheSameRule(kind: StoreKind) async throws {
        let referenceClock = ManualClock()
        let reference = try await Self.run(on: InMemoryMemoryStore(clock: referenceClock.function), clock: referenceClock, staged: false)
        // What the rule says, spelled out once, so that a change to it shows here: an update
        // keeps createdAt, an append keeps the expiry, a key written after it expired starts
        // again at version 1, and deleting an expired key is not a change.
        #expect(reference.records == [
            "last [1,2,3] 1 1800000043000 1800000043000 - -",
            #"list ["x",{"y":true}] 2 1800000001000 1800000002000 bob -"#,
            #"short "reborn" 1 1800000012000 1800000012000 cy -"#,
            "日本 null 1 1800000013000 1800000013000 - -",
        ])
        #expect(reference.changes == [
            "1 a put v1 ann 1800000000000", "2 a put v2 bob 1800000001000", "3 list append v1 ann 1800000001000",
            "4 list append v2 bob 1800000002000", "5 text append v1 - 1800000002000", "6 text append v2 - 1800000002000",
            "7 short put v1 - 1800000002000", "8 short put v1 cy 1800000012000", "9 a append v3 cy 1800000012000",
            "10 text delete v2 ann 1800000013000", "11 日本 put v1 - 1800000013000", "12 last put v1 - 1800000043000",
        ])
        #expect(reference.results[8] == #"a ["two",2,"more"] 3 1800000000000 1800000012000 cy 1800000031000 deleted=false previous=v2 by bob at 1800000001000"#)
        #expect(reference.results[12] == "none deleted=false previous=none")

        for staged in [false, true] {
            let clock = ManualClock()
            let store = try kind.make(clock: clock)
            let outcome = try await Self.run(on: store, clock: clock, staged: staged)
            #expect(outcome.records == reference.records, "\(kind) staged=\(staged)")
            #expect(outcome.changes == reference.changes, "\(kind) staged=\(staged)")
            #expect(outcome.results == reference.results, "\(kind) staged=\(staged)")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aStagedBatchWhoseKeyChangedMeanwhileWritesNothing(kind: StoreKind) async throws {
        let clock = ManualClock()
        let store = try kind.make(clock: clock)
        try await store.put("k", value: "old", in: main)
        let batch = StagedBatch(store: store, namespace: main, now: clock.now)
        try await batch.stage(.put(key: "other", value: 1))
        let staged = try await batch.stage(.put(key: "k", value: "mine"))
        #expect(staged.previous?.version == 1)
        try await store.put("k", value: "theirs", in: main)
        await #expect(throws: MemoryError.self) { try await batch.commit() }
        #expect(try await store.get("k", in: main)?.value == "theirs")
        #expect(try await store.get("other", in: main) == nil)
        #expect(try await store.changes(in: main, since: 0, limit: 10).count == 2)
    }
}

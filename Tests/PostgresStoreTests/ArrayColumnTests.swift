@testable import AgentMemoryPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// ``ArrayColumn`` against the server: what it sends is the array PostgreSQL reads, element by
/// element, for every element type the statements use.
@Suite("PostgreSQL array columns", .enabled(if: TestServer.url != nil, "PostgreSQL tests skipped: AGENT_MEMORY_TEST_POSTGRES_URL is not set"))
struct ArrayColumnTests {
    /// Each element of the array `column` as the server reads it back, as text, and the
    /// array's type and length as the server sees them.
    private static func echo<Element>(_ column: ArrayColumn<Element>, as type: String) async throws -> [String?] {
        try await TestServer.withConnection { connection, logger in
            var rows: [String?] = []
            let query: PostgresQuery = """
                SELECT pg_typeof(\(column)::\(unescaped: type)[])::text || ' ' || COALESCE(cardinality(\(column)::\(unescaped: type)[]), -1)
                UNION ALL SELECT e::text FROM unnest(\(column)::\(unescaped: type)[]) AS e
                """
            for try await value in try await connection.query(query, logger: logger).decode(String?.self) { rows.append(value) }
            return rows
        }
    }

    @Test func textArraysArriveAsWritten() async throws {
        let values = ["note/00001", "", "ünïcödé ✓ 🧠", String(repeating: "long ", count: 4_000), "comma, \"quote\" {brace}"]
        #expect(try await Self.echo(ArrayColumn(values), as: "text") == ["text[] 5"] + values)
    }

    @Test func numbersAndFlagsArriveAsWritten() async throws {
        let integers: [Int64] = [0, 1, -1, .max, .min, 1_700_000_000]
        #expect(try await Self.echo(ArrayColumn(integers), as: "int8") == ["bigint[] 6"] + integers.map { String($0) })
        let doubles = [0, -0.0, 1.5, 1_796_612_446.300992, -2.25e-300, .infinity]
        let read = try await Self.echo(ArrayColumn(doubles), as: "float8")
        #expect(read.first == "double precision[] 6")
        #expect(read.dropFirst().map { Double($0 ?? "") } == doubles.map { $0 })
        #expect(read[2] == "-0")
        #expect(try await Self.echo(ArrayColumn([true, false, true]), as: "bool") == ["boolean[] 3", "true", "false", "true"])
    }

    @Test func anEmptyColumnIsAnEmptyArray() async throws {
        // An empty array has no dimensions: its cardinality is 0 and `unnest` gives no rows.
        #expect(try await Self.echo(ArrayColumn<String>(), as: "text") == ["text[] 0"])
        #expect(try await Self.echo(ArrayColumn<Int64>(), as: "int8") == ["bigint[] 0"])
    }
}

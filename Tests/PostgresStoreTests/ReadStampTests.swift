import AgentMemoryCore
@testable import AgentMemoryPostgres
import Foundation
import Testing

/// A staged batch's rows reach the planned write as `Date`s, decoded from the seconds
/// PostgreSQL gave (`extract(epoch FROM t)::float8`), and the write statement compares those
/// seconds exactly: `ReadStamp(planned:)` must carry the very double the server gave for the
/// stored microsecond, whatever the year. Pure arithmetic: runs without a server.
@Suite("PostgreSQL read stamps")
struct ReadStampTests {
    /// The double PostgreSQL gives for `microseconds` since 1970: the nearest to the exact
    /// decimal, as `Double(String)` parses it.
    private static func serverSeconds(_ microseconds: Int64) -> Double {
        let whole = microseconds / 1_000_000, fraction = microseconds % 1_000_000
        return Double("\(whole).\(String(format: "%06lld", fraction))")!
    }

    @Test(arguments: [Int64(1_796_540_000), 1_956_614_400, 2_200_000_000, 4_102_444_800])
    func aTimeDecodedIntoADateGivesBackTheServersSeconds(_ start: Int64) {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let microseconds = start * 1_000_000 + Int64.random(in: 0..<86_400_000_000, using: &generator)
            let seconds = Self.serverSeconds(microseconds)
            let date = Date(timeIntervalSince1970: seconds)
            let stamp = ReadStamp(planned: RecordStamp(version: 1, createdAt: date, updatedAt: date, author: nil, expiresAt: nil))
            #expect(stamp.created == seconds, "\(microseconds) µs")
            #expect(stamp.updated == seconds, "\(microseconds) µs")
        }
    }
}

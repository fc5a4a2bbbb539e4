import AgentMemoryCore
import Foundation

/// The contract every ``MemoryStore`` keeps, as checks that the author of a new backend runs
/// against their own store with any test framework.
///
/// Each ``Check`` opens fresh stores through a factory you pass, drives them through one promise
/// (versions and compare-and-set, expiry, byte-order keys and cursors, namespace isolation,
/// limits before writes, all-or-nothing batches, search, the change log, append, watch), and
/// throws a ``Failure`` naming what differed. With Swift Testing:
///
/// ```swift
/// @Test(arguments: StoreConformance.checks)
/// func conformance(_ check: StoreConformance.Check) async throws {
///     try await check.run { setup in
///         try MyStore(limits: setup.limits, retention: setup.retention, clock: setup.clock)
///     }
/// }
/// ```
///
/// The factory must return a store with no records that honours `setup`: its limits, its change
/// log retention, and its clock (expiry and timestamps are checked against it).
public enum StoreConformance {
    /// Everything a check asks of a new store.
    public struct Setup: Sendable {
        /// The limits the store must enforce.
        public var limits: MemoryLimits
        /// How long the store keeps its change log.
        public var retention: ChangeLogRetention
        /// The store's clock: the check moves it by hand to test expiry without sleeping.
        public var clock: @Sendable () -> Date
    }

    /// Makes an empty store for a check.
    public typealias MakeStore = @Sendable (Setup) async throws -> any MemoryStore

    /// One promise of the contract, runnable against any backend.
    public struct Check: Sendable, CustomStringConvertible {
        /// A short identifier, such as `compareAndSet`.
        public let name: String
        /// The promise in one sentence.
        public let promise: String
        let body: @Sendable (Harness) async throws -> Void

        /// The name, so that a parameterized test lists each check by it.
        public var description: String { name }

        /// Runs the check against stores made by `makeStore`, closing each one afterwards;
        /// throws a ``Failure`` when the store breaks the promise.
        public func run(_ makeStore: @escaping MakeStore) async throws {
            let harness = try Harness(check: name, makeStore: makeStore)
            do {
                try await body(harness)
            } catch {
                await harness.closeAll()
                throw error
            }
            await harness.closeAll()
        }
    }

    /// How a store broke a promise.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// The check that failed.
        public var check: String
        /// What was expected and what the store did.
        public var message: String
        /// The line in the conformance suite, for reading the check.
        public var line: Int

        /// `check: message`.
        public var description: String { "\(check): \(message) (StoreConformance line \(line))" }
    }

    /// A clock that only moves when told to.
    public final class ManualClock: Sendable {
        private let current: Locked<Date>

        /// A clock reading `start`.
        public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Locked(start) }

        /// The time now.
        public var now: Date { current.withLock { $0 } }

        /// Moves the clock forward.
        public func advance(seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }

        /// The clock as a function, the form stores take.
        public var function: @Sendable () -> Date { { [self] in self.now } }
    }

    /// Every check, in the order they are documented.
    public static let checks: [Check] = recordChecks + collectionChecks + changeLogChecks

    /// Runs every check against `makeStore` and returns the failures (empty when the store conforms).
    public static func run(_ makeStore: @escaping MakeStore) async -> [Failure] {
        var failures: [Failure] = []
        for check in checks {
            do {
                try await check.run(makeStore)
            } catch let failure as Failure {
                failures.append(failure)
            } catch {
                failures.append(Failure(check: check.name, message: "threw \(error)", line: 0))
            }
        }
        return failures
    }
}

/// What a check body works with: stores from the factory, and assertions that throw ``StoreConformance/Failure``.
final class Harness: Sendable {
    let check: String
    /// The namespace most checks write to.
    let main: Namespace
    /// A second namespace, for isolation.
    let other: Namespace
    private let makeStore: StoreConformance.MakeStore
    private let opened = Locked<[any MemoryStore]>([])

    init(check: String, makeStore: @escaping StoreConformance.MakeStore) throws {
        self.check = check
        self.makeStore = makeStore
        main = try Namespace("conformance-main")
        other = try Namespace("conformance-other")
    }

    /// A fresh store with these limits, retention and clock.
    func store(
        limits: MemoryLimits = .default, retention: ChangeLogRetention = .default,
        clock: StoreConformance.ManualClock = StoreConformance.ManualClock()
    ) async throws -> any MemoryStore {
        let store = try await makeStore(StoreConformance.Setup(limits: limits, retention: retention, clock: clock.function))
        opened.withLock { $0.append(store) }
        return store
    }

    func closeAll() async {
        for store in opened.withLock({ $0 }) { try? await store.close() }
    }

    /// Fails unless `condition` holds.
    func expect(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line) throws {
        if !condition { throw StoreConformance.Failure(check: check, message: message(), line: line) }
    }

    /// Fails unless `actual == expected`, showing both.
    func equal<T: Equatable>(_ actual: T, _ expected: T, _ what: String, line: Int = #line) throws {
        if actual != expected {
            throw StoreConformance.Failure(check: check, message: "\(what): expected \(expected), got \(actual)", line: line)
        }
    }

    /// The value, or a failure saying it was missing.
    func require<T>(_ value: T?, _ what: String, line: Int = #line) throws -> T {
        guard let value else { throw StoreConformance.Failure(check: check, message: "\(what): got nothing", line: line) }
        return value
    }

    /// The ``MemoryError`` that `body` throws; fails if it succeeds, throws something else, or the code differs.
    @discardableResult
    func error(
        _ code: MemoryError.Code, _ what: String, line: Int = #line, _ body: () async throws -> Void
    ) async throws -> MemoryError {
        do {
            try await body()
        } catch let error as MemoryError {
            try equal(error.code, code, "\(what): error code", line: line)
            return error
        } catch {
            throw StoreConformance.Failure(check: check, message: "\(what): expected a MemoryError, got \(error)", line: line)
        }
        throw StoreConformance.Failure(check: check, message: "\(what): expected \(code), but it succeeded", line: line)
    }
}

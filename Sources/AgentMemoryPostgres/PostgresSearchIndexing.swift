import AgentMemoryCore
import Foundation
import Logging
import PostgresNIO

/// The full-text index of PostgreSQL's records, off the write path.
///
/// A record's search document (English `to_tsvector` of its key, weight A, and of its value,
/// weight B) was a generated column, computed by every write: 2,000 `remember` calls in one
/// statement took 62 ms, 50 of them the documents (BENCHMARKS.md, round forty-nine). Writes
/// now leave the document NULL (an update clears it), and a catch-up computes the documents
/// of a namespace's records that have none with the same expression, in statements of up to
/// ``chunk`` records, split between two connections when
/// ``PostgresMemoryStore/searchCatchUpSplit`` or more wait (``PostgresSearchIndexingPart``):
/// - at a search of the namespace, so a search still finds every write committed before it
///   began: the search's statement also counts the records without a document (the partial
///   index `memory_records_unindexed`, up to ``PostgresMemoryStore/searchCatchUpSplit``, in
///   its own snapshot); when it saw any, the catch-up runs and the search runs again;
/// - when a store closes, for each namespace it wrote, if
///   ``PostgresMemoryStore/searchCatchUpThreshold`` records or more wait (so that short
///   processes' writes do not pile up for one search to pay);
/// - after a store's own writes to a namespace reach that many since it last caught up (a
///   long-running store's), and at its maintenance, for every namespace.
///
/// The catch-up locks the namespace's counter row first, as every writer does, so it never
/// deadlocks with a writer (the parts of a split catch-up hold it in share mode, so they run
/// together, and each a lock of its part, so that two catch-ups' parts never compute the same
/// records at once); it takes the lock only when a record is waiting, so a search that finds
/// none writes nothing.
enum PostgresSearchIndexing: PreparedQueryTemplate {
    /// The migration that moved the document off the write path.
    static let migration = "2026-12-07.1-search-off-the-write-path"

    /// The document of a record, as the generated column computed it: ASCII punctuation in
    /// keys becomes spaces first (PostgreSQL's parser reads `user.preferences` as a host name),
    /// and a string value is indexed without its quotes.
    static let document = """
        setweight(to_tsvector('english'::regconfig, regexp_replace(key, '[!-/:-@[-`{-~]+', ' ', 'g')), 'A') ||
        setweight(to_tsvector('english'::regconfig,
            CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' ELSE value_text END), 'B')
        """

    /// The statement that computes up to `limit` missing documents of `namespace`, and returns
    /// how many it computed, how many records without one it picked (fewer than `limit`: no
    /// other was left), whether it went ahead (any record was waiting), and `false` (it never
    /// finds its records taken, as a part can: ``PostgresSearchIndexingPart``).
    ///
    /// The counter row is locked (`gate`: the writers' own upsert, which makes the row of a
    /// namespace that has none, so that records written without one are still indexed)
    /// before the update's scan starts: the update reads it through an uncorrelated `EXISTS`,
    /// which the planner runs once, as a one-time filter, before the scan. The records are
    /// picked by their row addresses, so that the update is a TID scan whatever the planner
    /// estimates for a namespace it has no statistics of yet (joined by key, the update of
    /// 2,000 new records ran as a nested loop over the picked keys: 262 ms instead of 46). The
    /// update repeats no condition of the pick: with `namespace` and `search_vector IS NULL`,
    /// the planner chose the partial index of waiting records and tested each row's address
    /// against the whole list, 4,000 times 4,000 comparisons (BENCHMARKS.md, round fifty-one).
    /// A record that a writer changed after the statement began (it committed while this one
    /// waited for the counter row) is locked in its new version but left to the next statement:
    /// PostgreSQL's recheck of a TID scan (READ COMMITTED) does not find the new version's
    /// address among those picked (`PostgresConcurrentCatchUpTests`).
    static func catchUp(namespace: String, limit: Int) -> PostgresQuery {
        """
        WITH gate AS (
            INSERT INTO memory_namespaces AS n (namespace, last_sequence)
            SELECT \(namespace)::text, 0
            WHERE EXISTS (SELECT 1 FROM memory_records WHERE namespace = \(namespace)::text AND search_vector IS NULL)
            ON CONFLICT (namespace) DO UPDATE SET last_sequence = n.last_sequence
            RETURNING 1
        ), picked AS (
            SELECT ARRAY(
                SELECT ctid FROM memory_records WHERE namespace = \(namespace)::text AND search_vector IS NULL LIMIT \(limit)::int8
            ) AS rows
        ), indexed AS (
            UPDATE memory_records SET search_vector = \(unescaped: document)
            WHERE ctid = ANY ((SELECT rows FROM picked)::tid[]) AND EXISTS (SELECT 1 FROM gate)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM indexed), (SELECT cardinality(rows) FROM picked), EXISTS (SELECT 1 FROM gate), false
        """
    }

    /// Documents computed by one statement at most: a large backlog (a bulk import's) is
    /// computed in statements of about 100 ms each, each committed, so that none outlasts the
    /// store's statement timeout and writers of the namespace get the lock in between.
    static let chunk = 4_096

    /// Prepared once per connection: a search runs it every time.
    static let template = catchUp(namespace: "", limit: 0)
}

/// The look at a namespace's backlog: how many of its records have no search document, counted
/// up to a limit (the partial index `memory_records_unindexed`).
enum PostgresSearchBacklog: PreparedQueryTemplate {
    static func count(namespace: String, upTo limit: Int) -> PostgresQuery {
        """
        SELECT count(*) FROM (
            SELECT 1 FROM memory_records WHERE namespace = \(namespace)::text AND search_vector IS NULL LIMIT \(limit)::int8
        ) AS waiting
        """
    }

    static let template = count(namespace: "", upTo: 0)
}

/// One part of a catch-up split between connections (``PostgresMemoryStore/searchCatchUpParts``):
/// up to `limit` missing documents of the records of `namespace` whose key hashes to `part`
/// of `parts`, computed by one statement; returns the same four values as
/// ``PostgresSearchIndexing/catchUp(namespace:limit:)``, the fourth `true` when another
/// catch-up's part of the same number was computing (``busy(namespace:part:)``), so that this
/// one computed nothing.
///
/// The parts hold the namespace's counter row in share mode (`FOR SHARE`), so that they run
/// at the same time while a writer, which takes the row exclusively, still waits for them or
/// they for it, as with the whole catch-up's gate; their records are disjoint, so no part
/// waits on another. Parts of the same number of two catch-ups at once (two searches) would
/// pick the same records, and could deadlock: a part whose statement began before a writer
/// committed picks the rows' old versions, and its update locks each row's new version to
/// recheck it (READ COMMITTED), in the order of the old addresses, while a part that began
/// after the commit locks the new versions in the order of theirs (the CI's writers-and-searchers
/// test met it once; `PostgresConcurrentCatchUpTests` builds it step by step). So a part also
/// takes a transaction lock of its namespace and number (`pg_try_advisory_xact_lock`) and
/// computes nothing when another has it; its caller then waits for that lock
/// (``busy(namespace:part:)``) and runs the part again, which picks what the other left. A
/// namespace without a counter row (records older than the change log) is left to the whole
/// catch-up, which makes the row.
package enum PostgresSearchIndexingPart: PreparedQueryTemplate {
    package static func catchUp(namespace: String, part: Int, parts: Int, limit: Int) -> PostgresQuery {
        """
        WITH gate AS (
            SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '/' || namespace), \(part)::int4) AS mine
            FROM memory_namespaces WHERE namespace = \(namespace)::text FOR SHARE
        ), picked AS (
            SELECT ARRAY(
                SELECT ctid FROM memory_records WHERE namespace = \(namespace)::text AND search_vector IS NULL
                    AND (hashtext(key) & 2147483647) % \(parts)::int4 = \(part)::int4
                LIMIT \(limit)::int8
            ) AS rows
        ), indexed AS (
            UPDATE memory_records SET search_vector = \(unescaped: PostgresSearchIndexing.document)
            WHERE ctid = ANY ((SELECT rows FROM picked)::tid[]) AND EXISTS (SELECT 1 FROM gate WHERE mine)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM indexed), (SELECT cardinality(rows) FROM picked),
               EXISTS (SELECT 1 FROM gate WHERE mine), EXISTS (SELECT 1 FROM gate WHERE NOT mine)
        """
    }

    static let template = catchUp(namespace: "", part: 0, parts: 1, limit: 0)

    /// The statement that waits until no other catch-up computes part `part` of `namespace`: it
    /// takes that part's lock, which its implicit transaction gives back at once. The lock is
    /// keyed by the schema, the namespace and the part's number, in the two-integer space of
    /// advisory locks (the migrations' lock is a single `bigint`).
    package static func busy(namespace: String, part: Int) -> PostgresQuery {
        "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/' || \(namespace)::text), \(part)::int4)"
    }
}

extension PostgresMemoryStore {
    /// Records without a search document in a namespace from which a closing store computes
    /// them, and records a store writes to a namespace after which it computes them itself
    /// (``PostgresSearchIndexing``): a search then waits for at most about this many documents
    /// per process writing meanwhile (about 100 ms on the benchmark's machine).
    public static let searchCatchUpThreshold = 4_096

    /// Computes the missing search documents of `namespace` if at least `waiting` records lack
    /// one (``PostgresSearchIndexing``); returns how many it computed (none, when another
    /// catch-up that it waited for computed them). `backlog` is how many records the caller
    /// saw waiting, counted up to ``searchCatchUpSplit``; without it they are counted first
    /// (``PostgresSearchBacklog``). A backlog of ``searchCatchUpSplit`` or more is split
    /// between `session` and other connections (``catchUpInParts(_:session:)``); the rest, or a
    /// smaller backlog, is computed on `session` in statements of up to
    /// ``PostgresSearchIndexing/chunk`` documents each.
    @discardableResult
    func catchUpSearchIndex(
        _ namespace: String, waiting: Int = 1, backlog: Int? = nil, session: PostgresSession
    ) async throws -> Int {
        var counted = backlog
        if counted == nil {
            let look = PostgresSearchBacklog.count(namespace: namespace, upTo: max(waiting, Self.searchCatchUpSplit))
            counted = try await session.rows(prepared: PreparedQuery<PostgresSearchBacklog>(look)).first?.decode(Int.self) ?? 0
        }
        guard let counted, counted >= max(waiting, 1) else { return 0 }
        var indexed = 0
        var complete = false
        if counted >= Self.searchCatchUpSplit {
            (indexed, complete) = try await catchUpInParts(namespace, session: session)
        }
        if !complete {
            // It ends when none waits, so whether its statements went ahead says nothing more.
            indexed += try await computeDocuments(session: session) {
                PreparedQuery<PostgresSearchIndexing>(PostgresSearchIndexing.catchUp(namespace: namespace, limit: PostgresSearchIndexing.chunk))
            }.indexed
        }
        if indexed > 0 {
            unindexedWrites.withLock { $0[namespace] = nil }
        }
        return indexed
    }

    /// Runs `statement` (a whole catch-up's or a part's, which return how many documents they
    /// computed, how many records they picked, whether they went ahead, and whether another
    /// catch-up had their records) until one picks fewer than a ``PostgresSearchIndexing/chunk``
    /// (none was left when it began) or does not go ahead; returns the documents computed and
    /// whether the last one went ahead. When another catch-up had the records, `wait` runs
    /// (``PostgresSearchIndexingPart/busy(namespace:part:)``) and then the statement again, which
    /// picks what that one left.
    func computeDocuments<Template: PreparedQueryTemplate>(
        session: PostgresSession, wait: PostgresQuery? = nil, _ statement: () -> PreparedQuery<Template>
    ) async throws -> (indexed: Int, wentAhead: Bool) {
        var indexed = 0
        while true {
            let rows = try await session.rows(prepared: statement())
            let (computed, picked, wentAhead, taken) = try rows.first?.decode((Int, Int, Bool, Bool).self) ?? (0, 0, false, false)
            indexed += computed
            if taken, let wait {
                _ = try await session.rows(wait)
                continue
            }
            if !wentAhead || picked < PostgresSearchIndexing.chunk { return (indexed, wentAhead) }
        }
    }

    /// Computes the missing search documents of every namespace (the maintenance timer does
    /// this); returns how many it computed.
    @discardableResult
    public func catchUpSearchIndex() async throws -> Int {
        try await autocommit { session in
            let rows = try await session.rows(
                "SELECT DISTINCT namespace FROM memory_records WHERE search_vector IS NULL")
            var indexed = 0
            for row in rows {
                indexed += try await self.catchUpSearchIndex(try row.decode(String.self), session: session)
            }
            return indexed
        }
    }

    /// Counts `count` records written to `namespace` by this store and, once its count since
    /// it last caught the namespace up reaches ``searchCatchUpThreshold``, catches
    /// up before returning. The write has committed: a failure is logged, not thrown (the
    /// next search catches up).
    func indexAfterWrites(_ count: Int, in namespace: Namespace) async {
        let due = unindexedWrites.withLock { written in
            let total = (written[namespace.name] ?? 0) + count
            written[namespace.name] = total
            return total >= Self.searchCatchUpThreshold
        }
        guard due else { return }
        do {
            try await autocommit { session in
                self.unindexedWrites.withLock { $0[namespace.name] = nil }
                try await self.catchUpSearchIndex(namespace.name, session: session)
            }
        } catch {
            logger.warning(
                "agent-memory: the search index did not catch up after writes; the next search will",
                metadata: ["store": "\(location)", "namespace": "\(namespace.name)", "error": "\(error)"])
        }
    }

    /// Records a store writes to a namespace from which its close always looks at the
    /// namespace's backlog; a store that wrote fewer looks with a chance of that number in
    /// ``closeLookStride`` (``closeLooks(written:)``).
    package static let closeLookStride = 256

    /// Whether a closing store that wrote `written` records to a namespace looks at its
    /// backlog: always from ``closeLookStride`` records, else with a chance of `written` in
    /// ``closeLookStride``. The look (counting up to 4,096 records waiting) was 0.4 ms of a
    /// 12 ms `remember` process; sampled, a backlog past the threshold is still seen after
    /// about ``closeLookStride`` more records' writes by whichever process looks (the
    /// chance that none of the next 1,024 one-record processes looks is about 2%), and a
    /// search catches up whatever the backlog.
    package static func closeLooks(written: Int, draw: Int = Int.random(in: 0..<closeLookStride)) -> Bool {
        written >= closeLookStride || draw < written
    }

    /// At ``close()``: for each namespace this store wrote (sampled, ``closeLooks(written:)``),
    /// catches up when at least ``searchCatchUpThreshold`` records wait. A failure is logged.
    func catchUpSearchIndexBeforeClosing() async {
        let written = unindexedWrites.withLock { written in
            defer { written = [:] }
            return written.filter { Self.closeLooks(written: $0.value) }.map(\.key)
        }
        guard !written.isEmpty else { return }
        do {
            try await autocommit { session in
                for namespace in written.sorted() {
                    try await self.catchUpSearchIndex(namespace, waiting: Self.searchCatchUpThreshold, session: session)
                }
            }
        } catch {
            logger.warning(
                "agent-memory: the search index did not catch up before closing; the next search will",
                metadata: ["store": "\(location)", "error": "\(error)"])
        }
    }
}

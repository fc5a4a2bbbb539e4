import AgentMemoryCore
import Foundation
import PostgresNIO

extension PostgresMemoryStore {
    /// How many of the records holding a query word a search reads to find its pool: the best by
    /// an estimate of BM25 made in SQL, scored again exactly here.
    static let searchCandidates = 50

    /// Ranked full-text search, ranked as every store ranks (``ContextRanking``): the query's
    /// words less its stop words, any of them may match (English stemming), key words count
    /// twice, and each record is scored with its neighbours in a numbered sequence.
    ///
    /// PostgreSQL's own `ts_rank` does not weigh a word by its rarity, so the database only
    /// finds candidates: in one statement, the ``searchCandidates`` best matches by each word's
    /// `ts_rank` weighted by its rarity, with the statistics BM25 needs. Those are scored with
    /// plain BM25 here, the best form the pool, and the pool's neighbours are read by key (a
    /// second statement). The records' average length in words, which the database does not
    /// keep, is the namespace's average size in bytes times the candidates' words per byte.
    /// Recall on LoCoMo went from 57.1% to 71.7% at 5 with this ranking (BENCHMARKS.md, round
    /// twenty), at about twice the time of a `ts_rank` search.
    ///
    /// Writes leave their records' search documents to a catch-up (``PostgresSearchIndexing``);
    /// a search that sees records of the namespace without one computes them first and runs
    /// again, so it finds every write committed before it began. The first search of a
    /// namespace of 1,000 documents or more in this store then checks that the planner's
    /// statistics know the namespace (``analyzeIfStatisticsPredate(_:holding:)``).
    public func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try ListCursor.validate(limit: limit)
        let words = SearchText.queryWords(of: query)
        guard !words.isEmpty else { return [] }
        let stems = words.map(\.stem)
        // Terms hold only letters and digits; quoting keeps each one a literal lexeme.
        let lexemes = words.map { "'\($0.word)'" }
        let now = clockSeconds()
        let poolLimit = ContextRanking.poolLimit(for: limit)
        let matcher = QueryMatcher(stems: stems)
        let (hits, documents) = try await autocommit { session -> ([SearchHit], Int) in
            let candidates = max(Self.searchCandidates, poolLimit)
            var (found, statistics, totalBytes, unindexed) = try await self.searchCandidates(
                lexemes, in: namespace, now: now, limit: candidates, matcher: matcher, session: session)
            // Every record written before the search began is found: when the statement saw
            // records without a document, their documents are computed (by this catch-up, or by
            // another that it waited for) and the search runs again.
            if unindexed > 0 {
                try await self.catchUpSearchIndex(namespace.name, backlog: unindexed, session: session)
                (found, statistics, totalBytes, _) = try await self.searchCandidates(
                    lexemes, in: namespace, now: now, limit: candidates, matcher: matcher, session: session)
            }
            guard statistics.documents > 0, !found.documents.isEmpty else { return ([], statistics.documents) }
            // Words per byte among the candidates, applied to the namespace's average size.
            let candidateWords = found.documents.reduce(0) { $0 + $1.length }
            var ranked = statistics
            ranked.averageLength = found.candidateBytes > 0
                ? totalBytes / Double(statistics.documents) * Double(candidateWords) / Double(found.candidateBytes) : 1
            let scores = ContextRanking.plainScores(found.documents, statistics: ranked)
            let pool = found.keys.indices
                .filter { scores[$0] > 0 }
                .sorted { first, second in
                    scores[first] != scores[second]
                        ? scores[first] > scores[second] : found.keys[first].bytes.lexicographicallyPrecedes(found.keys[second].bytes)
                }
                .prefix(poolLimit)
                .map { found.keys[$0].bytes }
            guard !pool.isEmpty else { return ([], statistics.documents) }
            let known = Set(found.keys)
            let missing = ContextRanking.keysToRead(around: pool).filter { !known.contains(ByteKey(bytes: $0)) }
            if !missing.isEmpty {
                let names = missing.map { String(decoding: $0, as: UTF8.self) }
                let rows = try await session.rows(prepared: RecordsRead.prepared(namespace: namespace.name, keys: names, now: now))
                for row in rows { try found.append(row.makeRandomAccess(), bytes: 0, matcher: matcher) }
            }
            let hits = try ContextRanking.rank(pool: pool, keys: found.keys, documents: found.documents, statistics: ranked, limit: limit)
                .map { hit in
                    let record = try Self.record(found.rows[hit.position])
                    let snippet = matcher.hitSnippet(key: record.key, body: SearchText.body(of: record.value))
                    return SearchHit(record: record, score: hit.score, snippet: snippet)
                }
            return (hits, statistics.documents)
        }
        // A namespace the planner's statistics do not know yet (filled by single writes since
        // the last analysis) has its searches planned as scans of all of its records.
        await analyzeIfStatisticsPredate(namespace, holding: documents)
        return hits
    }

    /// The rows a search read (``recordColumns``), with the ranking's view of each; a record is
    /// decoded only for a hit.
    private struct SearchRows {
        var keys: [ByteKey] = []
        var documents: [SearchDocument] = []
        /// The candidates' keys and values in bytes (neighbours read by key are not counted).
        var candidateBytes = 0
        var rows: [PostgresRandomAccessRow] = []

        mutating func append(_ cells: PostgresRandomAccessRow, bytes size: Int, matcher: QueryMatcher) throws {
            var key = try cells[0].decode(String.self)
            var json = try cells[1].decode(String.self)
            let document = try key.withUTF8 { key in try json.withUTF8 { json in try matcher.document(key: key, json: json) } }
            keys.append(ByteKey(bytes: Array(key.utf8)))
            documents.append(document)
            candidateBytes += size
            rows.append(cells)
        }
    }

    /// A namespace's live records and their keys' and values' bytes, as a search counted them,
    /// and the namespace's change number then.
    struct SearchSize: Sendable {
        var documents: Int
        var bytes: Double
        var sequence: Int64
    }

    /// The best candidates for the pool and the namespace's statistics for BM25, in one
    /// statement: the live records holding any of `lexemes` (PostgreSQL's English stemming,
    /// through the GIN index), up to `limit` of them, best first by the sum of each word's
    /// `ts_rank` (key words weigh double) times its idf.
    ///
    /// How many records hold each word is counted over the records found (every record holding
    /// a word matches the query), before the best are picked. The namespace's live records and
    /// their keys' and values' bytes take a scan of it (70 to 90 ms at 200,000 records), so the
    /// store counts them at its first search of a namespace and uses the count again while
    /// fewer than 1% of the namespace's records changed since (its change number says how many
    /// writes there were): a search never ranks with counts more than 1% off, and records that
    /// expired without a write still count until the next one.
    ///
    /// `unindexed` is how many records of the namespace the statement saw without a search
    /// document (``PostgresSearchIndexing``), counted up to ``searchCatchUpSplit`` in the
    /// statement's own snapshot, so also when it found nothing.
    private func searchCandidates(
        _ lexemes: [String], in namespace: Namespace, now: Double?, limit: Int, matcher: QueryMatcher,
        session: PostgresSession
    ) async throws -> (SearchRows, SearchStatistics, totalBytes: Double, unindexed: Int) {
        let cached = searchSizes.withLock { $0[namespace.name] }
        let rows = try await session.rows(
            Self.searchStatement(lexemes, namespace: namespace.name, now: now, limit: limit, cached: cached.map { ($0.documents, $0.sequence) }))
        var found = SearchRows()
        var size = cached ?? SearchSize(documents: 0, bytes: 0, sequence: 0)
        var counts: [Int] = []
        var unindexed = 0
        for (index, row) in rows.enumerated() {
            let cells = row.makeRandomAccess()
            if index == 0 {
                unindexed = try cells[11].decode(Int.self)
                // The row of a statement that found nothing carries only the count.
                guard cells[0].bytes != nil else { break }
                counts = try cells[10].decode([Int].self)
                if let counted = try cells[9].decode([Double]?.self), counted.count == 2 {
                    size = SearchSize(documents: Int(counted[0]), bytes: counted[1], sequence: try cells[8].decode(Int64.self))
                    let fresh = size
                    searchSizes.withLock { sizes in
                        // Bounded: a store searching very many namespaces counts them again.
                        if sizes.count >= 4_096 { sizes.removeAll() }
                        sizes[namespace.name] = fresh
                    }
                }
            }
            try found.append(cells, bytes: try cells[7].decode(Int.self), matcher: matcher)
        }
        let statistics = SearchStatistics(documents: size.documents, averageLength: 0, documentFrequencies: counts)
        return (found, statistics, size.bytes, unindexed)
    }

    /// The statement of ``searchCandidates(_:in:now:limit:matcher:session:)``: the best
    /// `limit` records holding any of `lexemes`, each row with the namespace's size (`cached`,
    /// the documents and change number counted before, is used again while fewer than 1% of
    /// the records changed since), the words' counts and the records waiting for a document.
    /// It returns one row, of the count alone, when it finds nothing: a second statement to
    /// count them would see another snapshot, and a catch-up committed between the two would
    /// leave the search's miss unexplained and not run again.
    package static func searchStatement(
        _ lexemes: [String], namespace: String, now: Double?, limit: Int, cached: (documents: Int, sequence: Int64)?
    ) -> PostgresQuery {
        var binds = StatementBinds()
        let name = binds.text(namespace)
        let live = "(expires_at IS NULL OR expires_at > \(binds.now(now)))"
        let queries = lexemes.map { "to_tsquery('english'::regconfig, \(binds.text($0)))" }
        let records = "COALESCE((SELECT size[1] FROM stats), \(binds.double(Double(cached?.documents ?? 0))))"
        let estimate = queries.indices.map { index in
            "GREATEST(1e-6, ln((\(records) - f\(index) + 0.5) / (f\(index) + 0.5) + 1)) * r\(index)"
        }.joined(separator: " + ")
        // The matches are ranked on narrow rows (key, each word's rank and count); only the best
        // are joined back to their records. The namespace's size is read for a row found (a
        // scalar subquery runs when first used), so a miss never scans the namespace.
        let sql = """
            WITH current AS (
                SELECT COALESCE((SELECT last_sequence FROM memory_namespaces WHERE namespace = \(name)), 0) AS sequence
            ), stats AS (
                SELECT sequence,
                       CASE WHEN sequence - \(binds.int(cached?.sequence ?? -1)) BETWEEN 0 AND \(binds.int((cached?.documents ?? 0) / 100))
                            THEN NULL
                            ELSE (SELECT ARRAY[count(*)::float8, COALESCE(sum(size + octet_length(key)), 0)::float8]
                                  FROM memory_records WHERE namespace = \(name) AND \(live)) END AS size
                FROM current
            ), matches AS (
                SELECT key,
                       \(queries.enumerated().map { "ts_rank('{0.1, 0.2, 0.5, 1.0}', search_vector, \($1)) AS r\($0)" }.joined(separator: ", ")),
                       \(queries.enumerated().map { "count(*) FILTER (WHERE search_vector @@ \($1)) OVER () AS f\($0)" }.joined(separator: ", "))
                FROM memory_records, to_tsquery('english'::regconfig, \(binds.text(lexemes.joined(separator: " | ")))) AS query
                WHERE namespace = \(name) AND search_vector @@ query AND \(live)
            ), best AS (
                SELECT key, ARRAY[\(queries.indices.map { "f\($0)" }.joined(separator: ", "))]::bigint[] AS frequencies
                FROM matches ORDER BY \(estimate) DESC, key LIMIT \(binds.int(limit))
            ), found AS (
                SELECT \(Self.recordColumns), size + octet_length(key) AS bytes, best.frequencies
                FROM best JOIN memory_records USING (key) WHERE namespace = \(name)
            ), waiting AS (
                SELECT count(*) AS unindexed FROM (
                    SELECT 1 FROM memory_records WHERE namespace = \(name) AND search_vector IS NULL
                    LIMIT \(binds.int(Self.searchCatchUpSplit))) AS records
            )
            SELECT found.key, found.value_text, found.version, found.created, found.updated, found.author, found.expires, found.bytes,
                   CASE WHEN found.key IS NOT NULL THEN (SELECT sequence FROM stats) END,
                   CASE WHEN found.key IS NOT NULL THEN (SELECT size FROM stats) END,
                   found.frequencies, waiting.unindexed
            FROM waiting LEFT JOIN found ON true
            """
        return binds.query(sql)
    }
}

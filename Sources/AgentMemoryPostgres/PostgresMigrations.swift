import AgentMemoryCore
import PostgresNIO

/// The PostgreSQL schema as named, ordered migrations (the same steps as SQLite's, in
/// PostgreSQL's terms).
///
/// Applied migrations are recorded by identifier in `agent_memory_migrations`. The runner
/// takes a transaction-scoped advisory lock first, so several processes opening a new
/// database at the same moment do not race: the first applies the migrations, the others
/// wait on the lock and then find nothing left to do.
enum PostgresMigrations {
    struct Migration {
        let identifier: String
        let statements: [String]
    }

    static let all: [Migration] = [
        // Keys and namespaces use the "C" collation, so equality and order are byte for byte
        // (NFC and NFD spellings stay two keys). `value` is the JSON as jsonb for queries;
        // `value_text` is the exact text written, because jsonb reorders object keys and
        // rewrites numbers while the store promises values back exactly as written.
        Migration(identifier: "2026-11-25.1-records", statements: [
            """
            CREATE TABLE memory_records (
                namespace text COLLATE "C" NOT NULL,
                key text COLLATE "C" NOT NULL,
                value jsonb NOT NULL,
                value_text text NOT NULL,
                version bigint NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                author text,
                expires_at timestamptz,
                size bigint NOT NULL,
                PRIMARY KEY (namespace, key)
            )
            """,
            "CREATE INDEX memory_records_expiry ON memory_records (expires_at) WHERE expires_at IS NOT NULL",
        ]),
        // The search document is kept in sync by the database. Keys get weight A and values
        // weight B (ranked twice as high, as on SQLite). ASCII punctuation in keys becomes
        // spaces first: PostgreSQL's parser would read `user.preferences` as one host name.
        // The expression is the catch-up's (``PostgresSearchIndexing/document``), one text for both.
        Migration(identifier: "2026-11-25.2-full-text", statements: [
            "ALTER TABLE memory_records ADD COLUMN search tsvector GENERATED ALWAYS AS (\(PostgresSearchIndexing.document)) STORED",
            "CREATE INDEX memory_records_search ON memory_records USING gin (search)",
        ]),
        // One counter row per namespace: writers lock it first, so the sequence numbers of a
        // namespace follow commit order.
        Migration(identifier: "2026-11-25.3-change-log", statements: [
            """
            CREATE TABLE memory_namespaces (
                namespace text COLLATE "C" PRIMARY KEY,
                last_sequence bigint NOT NULL
            )
            """,
            """
            CREATE TABLE memory_changes (
                namespace text COLLATE "C" NOT NULL,
                sequence bigint NOT NULL,
                key text COLLATE "C" NOT NULL,
                operation text NOT NULL,
                version bigint NOT NULL,
                author text,
                time timestamptz NOT NULL,
                PRIMARY KEY (namespace, sequence)
            )
            """,
            "CREATE INDEX memory_changes_by_key ON memory_changes (namespace, key, sequence)",
            "CREATE INDEX memory_changes_by_time ON memory_changes (time)",
        ]),
        // The search document leaves the write path (``PostgresSearchIndexing``): it becomes a
        // plain column, kept as computed, that writes leave NULL and a catch-up fills in. The
        // rename makes the searches of binaries that trusted the generated column fail ("column
        // search does not exist") instead of missing records not yet indexed, and the trigger
        // clears the document of any row whose key or value an UPDATE changes without clearing
        // it (such a binary's writes, or a hand-written statement), so that no document is
        // stale. The store's own writes clear it themselves, so the trigger's condition is
        // false for them and its function is not called.
        Migration(identifier: PostgresSearchIndexing.migration, statements: [
            "ALTER TABLE memory_records ALTER COLUMN search DROP EXPRESSION",
            "ALTER TABLE memory_records RENAME COLUMN search TO search_vector",
            "CREATE INDEX memory_records_unindexed ON memory_records (namespace) WHERE search_vector IS NULL",
            """
            CREATE FUNCTION memory_records_clear_search() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.search_vector := NULL;
                RETURN NEW;
            END
            $$
            """,
            """
            CREATE TRIGGER memory_records_clear_search BEFORE UPDATE OF key, value, value_text ON memory_records
            FOR EACH ROW WHEN (NEW.search_vector IS NOT NULL
                AND (NEW.key IS DISTINCT FROM OLD.key OR NEW.value_text IS DISTINCT FROM OLD.value_text
                     OR NEW.value IS DISTINCT FROM OLD.value))
            EXECUTE FUNCTION memory_records_clear_search()
            """,
        ]),
        // Fewer index entries per write (BENCHMARKS.md, round fifty). The GIN index leaves out
        // records without a search document, which every write now leaves (a search's
        // `search_vector @@ query` implies a document, so the partial index serves it as
        // before). The change log is indexed by number only, as SQLite's is: pruning by age walks
        // each namespace's entries in number order (`pruneChangeLog()`), and `history(of:)` reads
        // the namespace's log from its newest entry (a `history` process took 70 ms for a key at
        // the far end of 1,000,000 entries).
        Migration(identifier: "2026-12-07.2-fewer-index-entries", statements: [
            "DROP INDEX memory_changes_by_time",
            "DROP INDEX memory_changes_by_key",
            "DROP INDEX memory_records_search",
            "CREATE INDEX memory_records_search ON memory_records USING gin (search_vector) WHERE search_vector IS NOT NULL",
        ]),
    ]

    /// Creates `schema` if needed and applies the pending migrations in order, in one
    /// transaction under an advisory lock; when every migration is applied already (the
    /// usual case), one read and no transaction. Statements go through `session` (so through
    /// ``StatementGuard``: a connection killed mid-migration fails them rather than leaving
    /// its `ROLLBACK` unanswered for ever).
    ///
    /// A schema that records a migration this binary does not know was migrated by a newer
    /// version, whose writes this one could damage (this one's would leave its search index
    /// stale, say): opening it fails with `NewerSchema`, and nothing is changed.
    static func migrate(_ session: PostgresSession, schema: String) async throws {
        if let applied = await appliedMigrations(session, schema: schema) {
            try refuseNewer(applied)
            if all.allSatisfy({ applied.contains($0.identifier) }) { return }
        }
        // `schema` was validated as a plain lower-case identifier, so it needs no quoting;
        // these statements are DDL on identifiers, which take no binds.
        func run(_ sql: String) async throws {
            try await session.execute(sql)
        }
        try await run("BEGIN")
        do {
            let lockKey = "agent_memory.migrations.\(schema)"
            try await session.rows("SELECT pg_advisory_xact_lock(hashtextextended(\(lockKey), 0))")
            try await run("CREATE SCHEMA IF NOT EXISTS \(schema)")
            try await run("SET LOCAL search_path TO \(schema)")
            try await run("""
                CREATE TABLE IF NOT EXISTS agent_memory_migrations (
                    identifier text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())
                """)
            let applied = Set(try await session.rows("SELECT identifier FROM agent_memory_migrations").map { try $0.decode(String.self) })
            try refuseNewer(applied)
            for migration in all where !applied.contains(migration.identifier) {
                for statement in migration.statements { try await run(statement) }
                try await session.rows("INSERT INTO agent_memory_migrations (identifier) VALUES (\(migration.identifier))")
            }
            try await run("COMMIT")
        } catch {
            if !session.connection.isClosed { try? await session.execute("ROLLBACK") }
            throw error
        }
    }

    /// Whether `schema` records every migration of this version and no other: nothing to apply
    /// and nothing to refuse. `false` when it cannot tell (``migrate(_:schema:)`` then runs).
    static func isCurrent(_ session: PostgresSession, schema: String) async -> Bool {
        guard let applied = await appliedMigrations(session, schema: schema) else { return false }
        return applied == Set(all.map(\.identifier))
    }

    /// The migrations recorded in `schema`, or `nil` when they cannot be read (no schema or no
    /// table yet): the migration transaction then runs and reports real errors.
    private static func appliedMigrations(_ session: PostgresSession, schema: String) async -> Set<String>? {
        do {
            // The schema is an identifier, not a value, so it cannot be a bind; it was
            // validated as a plain lower-case identifier.
            let rows = try await session.rows("SELECT identifier FROM \(unescaped: schema).agent_memory_migrations")
            return Set(try rows.map { try $0.decode(String.self) })
        } catch {
            return nil
        }
    }

    /// Throws `NewerSchema` when `applied` holds a migration this binary does not know.
    private static func refuseNewer(_ applied: Set<String>) throws {
        let known = Set(all.map(\.identifier))
        let unknown = applied.subtracting(known)
        if !unknown.isEmpty { throw NewerSchema("the PostgreSQL schema", unknown: unknown, remedy: "use that version or a newer one") }
    }
}

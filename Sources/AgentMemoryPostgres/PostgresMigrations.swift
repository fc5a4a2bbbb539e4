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
        Migration(identifier: "2026-11-25.2-full-text", statements: [
            """
            ALTER TABLE memory_records ADD COLUMN search tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english'::regconfig, regexp_replace(key, '[!-/:-@[-`{-~]+', ' ', 'g')), 'A') ||
                setweight(to_tsvector('english'::regconfig,
                    CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' ELSE value_text END), 'B')
            ) STORED
            """,
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
    ]

    /// Creates `schema` if needed and applies the pending migrations in order, in one
    /// transaction under an advisory lock; when every migration is applied already (the
    /// usual case), one read and no transaction. Statements go through `session` (so through
    /// ``StatementGuard``: a connection killed mid-migration fails them rather than leaving
    /// its `ROLLBACK` unanswered for ever).
    static func migrate(_ session: PostgresSession, schema: String) async throws {
        if await isCurrent(session, schema: schema) { return }
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

    /// Whether `schema` has every migration applied. Any failure (no schema or no table yet)
    /// means "not known to be current": the migration transaction then runs and reports
    /// real errors.
    private static func isCurrent(_ session: PostgresSession, schema: String) async -> Bool {
        do {
            // The schema is an identifier, not a value, so it cannot be a bind; it was
            // validated as a plain lower-case identifier.
            let rows = try await session.rows("SELECT identifier FROM \(unescaped: schema).agent_memory_migrations")
            let applied = Set(try rows.map { try $0.decode(String.self) })
            return all.allSatisfy { applied.contains($0.identifier) }
        } catch {
            return false
        }
    }
}

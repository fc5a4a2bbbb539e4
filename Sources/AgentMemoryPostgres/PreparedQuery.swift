import PostgresNIO

/// A statement whose text never changes, only its parameters, run as a prepared statement:
/// the server parses and plans it once per connection instead of at every call (for the
/// optimistic write, most of the server's time when nothing waits on a lock).
///
/// `Template` builds the statement with PostgresNIO's interpolation, so the text and its
/// parameters are written once; its text with placeholder values is the prepared text. Every
/// parameter carries an explicit cast in the text: a prepared statement is parsed without
/// the parameters' types.
protocol PreparedQueryTemplate {
    /// The statement with placeholder values (only its text is used).
    static var template: PostgresQuery { get }
}

/// One execution of a ``PreparedQueryTemplate``'s statement with real values.
struct PreparedQuery<Template: PreparedQueryTemplate>: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static var name: String { "agent_memory.\(Template.self)" }
    static var sql: String { Template.template.sql }

    let binds: PostgresBindings

    /// `query` must come from the same interpolation as the template (same text).
    init(_ query: PostgresQuery) {
        assert(query.sql == Template.template.sql, "a prepared statement's text changed with its values")
        binds = query.binds
    }

    func makeBindings() throws -> PostgresBindings { binds }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

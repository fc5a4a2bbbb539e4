/// A commit of staged plans that the store begins writing before the last plan is staged.
///
/// A ``StagedBatch`` of many writes (an assistant turn of hundreds of `remember` calls) hands
/// its plans over in parts while it plans the rest; the store writes each part in one open
/// transaction, on a thread of its own, and ``finish()`` commits them all. The store's work on
/// the first plans (reading their rows again, the version checks, the inserts) then runs beside
/// the planning of the later ones, on a second core. The outcome is exactly that of
/// ``MemoryStore/commit(_:in:)`` with every plan sent: all of them written in one transaction,
/// or (a version conflict, a quota, a failed write) none.
///
/// Dropping a commit before ``finish()`` rolls its transaction back. A store that begins one
/// holds its write transaction until then: other writes of the process queue behind it, and
/// another process's wait up to their busy timeout.
public protocol StreamedCommit: AnyObject, Sendable {
    /// Hands `plans` to the store, which writes them after those sent before, in order; returns
    /// at once. After a plan failed, what is sent is dropped (``finish()`` throws).
    func send(_ plans: [WritePlan])

    /// Sends nothing more and commits every plan sent; throws, with nothing written, when a
    /// plan conflicted or was refused or the transaction failed (as ``MemoryStore/commit(_:in:)``).
    func finish() async throws
}

extension MemoryStore {
    /// No streamed commit: the batch commits its plans together with ``commit(_:in:)``.
    public func streamedCommit(in namespace: Namespace) -> (any StreamedCommit)? { nil }
}

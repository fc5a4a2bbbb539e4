import Foundation
import GRDBSQLite

/// What ``SQLiteSearchFunctions``' rank function keeps for one statement (its FTS5 auxdata,
/// freed with the statement's cursor): each phrase's idf and the average row length, and,
/// when the statement asks for its best `depth` rows only, what lets it skip reading the
/// length of a row that cannot be among them.
///
/// A row's BM25 rank only falls as its length grows, so its rank at a length it cannot be
/// shorter than is a bound on its real rank. A row's key holds at least one token more than
/// the offset of the last query word found in it, and so does its body: their sum is such a
/// length. A row whose bound falls short of the best `depth` exact scores seen so far, or of a
/// `floor` that the statement knows its best `depth` rows all reach (from an earlier ranking
/// of some of the same rows), cannot be among the best `depth`: its length is not read (a
/// B-tree seek per row, about a quarter of a search's ranking at a million records) and it is
/// given its bound. Every row among the best `depth` still gets its exact rank.
struct SQLiteRankState {
    /// Each phrase's idf, then the average row length (`phrases + 1` values).
    let idfs: UnsafeMutablePointer<Double>
    /// Phrases of the statement's match.
    let phrases: Int
    /// Best rows the statement keeps (its `LIMIT`), or 0: every row ranked exactly.
    let depth: Int
    /// A score the best `depth` rows all reach (`-infinity` when not known).
    let floor: Double
    /// The best exact scores so far, a min-heap of `count` (at most `depth`) values.
    private let best: UnsafeMutableBufferPointer<Double>
    /// Scores in `best`.
    private var count = 0
    /// The last row ranked and its rank, so that a row asked for twice counts once.
    private var last: (rowid: Int64, rank: Double)?
    /// An open handle on `memory_fts_docsize.sz` of the last row read, reopened on each row.
    private var sizes: OpaquePointer?
    /// Whether opening `sizes` failed (the lengths are then asked of FTS5).
    private var sizesUnavailable = false

    init(idfs: [Double], average: Double, depth: Int, floor: Double) {
        phrases = idfs.count
        self.idfs = .allocate(capacity: idfs.count + 1)
        self.idfs.initialize(from: idfs, count: idfs.count)
        self.idfs[idfs.count] = average
        self.depth = max(0, depth)
        self.floor = floor
        best = .allocate(capacity: max(1, self.depth))
    }

    /// Frees what the state holds (the auxdata's destructor).
    func release() {
        if let sizes { sqlite3_blob_close(sizes) }
        idfs.deallocate()
        best.deallocate()
    }

    /// BM25's score of a row of `length` tokens with these weighted phrase frequencies (FTS5's
    /// `fts5Bm25Function`: k1 1.2, b 0.75, the same operations in the same order).
    func score(_ frequencies: UnsafeMutableBufferPointer<Double>, length: Int32) -> Double {
        let k1 = 1.2
        let b = 0.75
        let average = idfs[phrases]
        var score = 0.0
        for phrase in 0..<phrases {
            score += idfs[phrase] * ((frequencies[phrase] * (k1 + 1.0)) / (frequencies[phrase] + k1 * (1 - b + b * Double(length) / average)))
        }
        return score
    }

    /// The lowest of the best `depth` exact scores once `depth` are known, else `-infinity`:
    /// every row among the best `depth` scores at least this.
    var lowestOfBest: Double {
        depth > 0 && count == depth ? best[0] : -Double.infinity
    }

    /// The rank already given to `rowid` when it was the last row ranked.
    func repeated(_ rowid: Int64) -> Double? {
        guard let last, last.rowid == rowid else { return nil }
        return last.rank
    }

    /// Whether a row scoring at most `bound` cannot be among the best `depth`: it falls short
    /// of the floor, or `depth` exact scores seen all beat it.
    func excludes(_ bound: Double) -> Bool {
        depth > 0 && (bound < floor || (count == depth && bound < best[0]))
    }

    /// Notes the rank given to `rowid`; with an exact `score`, keeps it among the best.
    mutating func ranked(_ rowid: Int64, rank: Double, exactScore score: Double?) {
        last = (rowid, rank)
        guard depth > 0, let score else { return }
        if count < depth {
            // Sift up.
            var child = count
            best[child] = score
            count += 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard best[child] < best[parent] else { break }
                best.swapAt(child, parent)
                child = parent
            }
        } else if score > best[0] {
            // Replace the worst and sift down.
            best[0] = score
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < count else { break }
                let right = left + 1
                let smaller = right < count && best[right] < best[left] ? right : left
                guard best[smaller] < best[parent] else { break }
                best.swapAt(smaller, parent)
                parent = smaller
            }
        }
    }

    /// The length in tokens of row `rowid` from its `memory_fts_docsize` row, read through a
    /// blob handle kept open for the statement; `nil` when it cannot be read that way.
    mutating func storedLength(of rowid: Int64, db: OpaquePointer?) -> Int32? {
        guard !sizesUnavailable else { return nil }
        if let sizes {
            guard sqlite3_blob_reopen(sizes, rowid) == SQLITE_OK else {
                sqlite3_blob_close(sizes)
                self.sizes = nil
                return nil
            }
        } else {
            var handle: OpaquePointer?
            guard let db, sqlite3_blob_open(db, "search", "memory_fts_docsize", "sz", rowid, 0, &handle) == SQLITE_OK,
                  let handle
            else {
                if let handle { sqlite3_blob_close(handle) }
                sizesUnavailable = true
                return nil
            }
            sizes = handle
        }
        guard let sizes else { return nil }
        let bytes = Int(sqlite3_blob_bytes(sizes))
        // One varint per column (two columns): a handful of bytes.
        guard bytes > 0, bytes <= 32 else { return nil }
        return withUnsafeTemporaryAllocation(byteCount: bytes, alignment: 1) { buffer -> Int32? in
            guard let base = buffer.baseAddress, sqlite3_blob_read(sizes, base, Int32(bytes), 0) == SQLITE_OK else { return nil }
            return SQLiteSearchFunctions.documentLength(sizes: UnsafeRawBufferPointer(buffer))
        }
    }
}

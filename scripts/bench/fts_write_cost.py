#!/usr/bin/env python3
"""What the per-commit FTS5 update costs a put: records + change log alone, plus a row id into a
pending table, or plus the row into FTS5 (what the SQLite store does at commit). Python sqlite3,
WAL, on a throwaway file of 10,000 notes. See docs/benchmarks/sqlite-store.md.

    python3 scripts/bench/fts_write_cost.py [FOLDER]
"""
import sqlite3, random, time, os, sys, tempfile
OWN_FOLDER = len(sys.argv) < 2
FOLDER = tempfile.mkdtemp() if OWN_FOLDER else sys.argv[1]
random.seed(1)
vocab=[f"w{i}x" for i in range(2000)]
weights=[1/(i+1) for i in range(len(vocab))]
def note(): return " ".join(random.choices(vocab,weights,k=random.randint(8,24)))
def setup(mode, sync):
    p=os.path.join(FOLDER, f"fts-write-cost-{mode}.db")
    for s in ["","-wal","-shm"]:
        try: os.remove(p+s)
        except: pass
    db=sqlite3.connect(p,isolation_level=None)
    db.execute("pragma journal_mode=wal"); db.execute(f"pragma synchronous={sync}")
    db.executescript("""
    create table r(id integer primary key, ns text not null, key text not null, value text not null, version int, created real, updated real, author text, expires real, size int, unique(ns,key));
    create table c(ns text, seq int, key text, op text, version int, author text, time real, primary key(ns,seq)) without rowid;
    create virtual table f using fts5(key, value, content='r', content_rowid='id', tokenize='porter unicode61');
    create table pending(id integer primary key, key text, body text);
    """)
    db.execute("begin")
    for i in range(10000):
        db.execute("insert into r(ns,key,value,version,created,updated,size) values('n',?,?,1,0,0,10)",(f"note/{i:07d}",note()))
    db.execute("insert into f(rowid,key,value) select id,key,value from r")
    db.execute("commit")
    return db
def put(db, mode, i, seq):
    cur=db.execute("insert into r(ns,key,value,version,created,updated,size) values('n',?,?,1,0,0,10)",(f"put/{i}",note()))
    rid=cur.lastrowid
    db.execute("insert into c values('n',?,?,'put',1,null,0)",(seq,f"put/{i}"))
    return rid
def single(mode, sync, N):
    db=setup(mode, sync)
    t=time.perf_counter()
    for i in range(N):
        db.execute("begin")
        rid=put(db,mode,i,i)
        if mode=="fts": db.execute("insert into f(rowid,key,value) select id,key,value from r where id=?",(rid,))
        elif mode=="pending": db.execute("insert or ignore into pending(id) values(?)",(rid,))
        db.execute("commit")
    return N/(time.perf_counter()-t)
def batch(mode, B=1000, reps=5):
    db=setup(mode, "full")
    t=time.perf_counter()
    for r in range(reps):
        db.execute("begin")
        ids=[put(db,mode,r*B+i,r*B+i) for i in range(B)]
        if mode=="fts": db.execute("insert into f(rowid,key,value) select id,key,value from r where id between ? and ?",(ids[0],ids[-1]))
        elif mode=="pending": db.execute("insert or ignore into pending(id) select id from r where id between ? and ?",(ids[0],ids[-1]))
        db.execute("commit")
    return B*reps/(time.perf_counter()-t)
for rep in range(2):
    for m in ["none","pending","fts"]:
        print(f"rep {rep} {m:8s} NORMAL {single(m,'normal',3000):7.0f}/s  FULL {single(m,'full',600):6.0f}/s  batch1000 {batch(m):7.0f}/s", flush=True)
# catch-up cost
db=setup("pending","normal")
for i in range(5000):
    db.execute("begin"); rid=put(db,"pending",i,i); db.execute("insert into pending(id) values(?)",(rid,)); db.execute("commit")
t=time.perf_counter()
db.execute("begin"); db.execute("insert into f(rowid,key,value) select r.id,r.key,r.value from pending p join r on r.id=p.id"); db.execute("delete from pending"); db.execute("commit")
print(f"catch-up of 5000 pending rows in one transaction: {(time.perf_counter()-t)*1e3:.1f} ms")
for name in os.listdir(FOLDER):
    if name.startswith("fts-write-cost-"):
        os.remove(os.path.join(FOLDER, name))
if OWN_FOLDER: os.rmdir(FOLDER)

"""python-api.md §10: the guarantees hold across threads, with the GIL released
during engine work (the engine's own locks, not the GIL, make them hold)."""

import threading
import time

from dictdb_rs import DictDB, DuplicateKeyError, RecordNotFoundError, Table

THREADS = 8


def run_threads(target, n=THREADS):
    errors = []

    def wrapped(i):
        try:
            target(i)
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_unique_auto_keys_and_one_winner_per_key():
    t = Table("t")
    won = []

    def work(i):
        keys = t.insert([{"w": i} for _ in range(100)])
        assert len(keys) == 100
        for k in range(50):
            try:
                t.insert({"id": f"k{k}", "w": i})
                won.append(k)
            except DuplicateKeyError:
                pass

    run_threads(work)
    assert len(t) == THREADS * 100 + 50
    assert sorted(won) == list(range(50))
    ids = [r["id"] for r in t.all()]
    assert len(set(ids)) == len(ids)


def test_one_delete_wins():
    t = Table("t")
    t.insert([{"x": i} for i in range(100)])
    wins = []

    def work(i):
        for pk in range(1, 101):
            try:
                wins.append(t.delete(where=t.id == pk))
            except RecordNotFoundError:
                pass

    run_threads(work)
    assert wins == [1] * 100 and len(t) == 0


def test_updates_serialise_and_indexes_stay_consistent():
    t = Table("t")
    t.create_index("bucket")
    t.create_index("n", "sorted")
    t.insert([{"bucket": i % 10, "n": 0} for i in range(1000)])

    def work(i):
        for step in range(30):
            t.update({"bucket": (i + step) % 10}, where=t.id.between(i * 100 + 1, i * 100 + 100))
            t.update({"n": step}, where=t.bucket == (i + step) % 10)
            rows = t.select(where=t.n >= 0)
            assert len(rows) == 1000

    run_threads(work, n=10)
    # Every index answers exactly as a scan does.
    rows = t.all()
    for b in range(10):
        want = {r["id"] for r in rows if r["bucket"] == b}
        assert t.indexes["bucket"].index.get(b, set()) == want
        assert {r["id"] for r in t.select(where=t.bucket == b)} == want
    for n in range(30):
        want = {r["id"] for r in rows if r["n"] == n}
        assert t.indexes["n"].search(n) == want
        assert {r["id"] for r in t.select(where=t.n.between(n, n))} == want


def test_readers_never_see_half_a_bulk_write():
    t = Table("t")
    stop = threading.Event()
    seen = []

    def writer():
        batch = 0
        while not stop.is_set():
            t.insert([{"batch": batch} for _ in range(50)])
            batch += 1

    def reader():
        while not stop.is_set():
            n = len(t.select(where=t.batch >= 0))
            seen.append(n)
            assert n % 50 == 0, n

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for th in threads:
        th.start()
    time.sleep(1.0)
    stop.set()
    for th in threads:
        th.join()
    assert seen and all(n % 50 == 0 for n in seen)


def test_tables_are_independent():
    db = DictDB()
    db.create_table("a")
    db.create_table("b")
    a, b = db.get_table("a"), db.get_table("b")

    def work(i):
        first, second = (a, b) if i % 2 else (b, a)
        for k in range(200):
            first.insert({"k": k})
            second.update({"seen": True}) if len(second) else second.insert({"k": -1})

    run_threads(work, n=4)
    assert len(a) + len(b) >= 800

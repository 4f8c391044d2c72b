"""Threads and asyncio with dictdb_rs.

Part 1 - threads: writers insert with automatic keys (every key unique),
updaters and readers run at the same time (readers never see a half-written
row), and several threads race for one explicit key (exactly one wins, the
others get DuplicateKeyError).

Part 2 - asyncio: ``async_save`` / ``async_load`` in JSON and pickle run in a
worker thread while a coroutine keeps ticking, so the event loop is not
blocked; a plain ``save`` called inside a coroutine, by contrast, blocks it.

Run: python threads_and_async.py
"""

import asyncio
import os
import tempfile
import threading
import time

import dictdb_rs as dictdb

WRITERS = 8
ROWS_PER_WRITER = 500
ROWS = 60_000  # for the async part: big enough for saves to take a while


def threads_demo():
    db = dictdb.DictDB()
    db.create_table("events")
    events = db.get_table("events")
    events.create_index("worker")
    events.create_index("seq", "sorted")

    start = threading.Barrier(WRITERS + 4)
    keys = [[] for _ in range(WRITERS)]
    problems = []
    done = threading.Event()

    def writer(w):
        start.wait()
        for i in range(ROWS_PER_WRITER):
            row = {"worker": w, "seq": i, "payload": f"w{w}-{i}", "state": "new"}
            keys[w].append(events.insert(row))
            if row["id"] != keys[w][-1]:  # the auto key is written back
                problems.append(("auto key not written back", row))

    def updater():
        start.wait()
        while not done.is_set():
            # Marks what is there so far; concurrent inserts are fine.
            try:
                events.update({"state": "seen"}, where=events.state == "new")
            except dictdb.RecordNotFoundError:
                pass  # nothing new right now

    def reader():
        start.wait()
        while not done.is_set():
            for row in events.select(where=events.seq.between(100, 199)):
                if not 100 <= row["seq"] <= 199:
                    problems.append(("out of range", row))
                if row["payload"] != f"w{row['worker']}-{row['seq']}":
                    problems.append(("torn row", row))
            for row in events.select(where=events.worker == 3, limit=50):
                if row["worker"] != 3:
                    problems.append(("index mismatch", row))

    workers = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    others = [threading.Thread(target=updater)] + [
        threading.Thread(target=reader) for _ in range(3)]
    t0 = time.perf_counter()
    for t in workers + others:
        t.start()
    for t in workers:
        t.join()
    done.set()
    for t in others:
        t.join()
    elapsed = time.perf_counter() - t0

    all_keys = [k for ks in keys for k in ks]
    total = WRITERS * ROWS_PER_WRITER
    print(f"{WRITERS} writers inserted {len(all_keys)} rows in {elapsed:.2f}s "
          f"alongside 1 updater and 3 readers")
    assert len(all_keys) == total
    assert len(set(all_keys)) == total, "auto keys must be unique"
    assert sorted(all_keys) == list(range(1, total + 1))
    assert events.count() == total
    assert problems == [], problems[:3]
    # Every writer's rows are there, in its own order, and the index agrees.
    for w in range(WRITERS):
        mine = events.select(["seq"], where=events.worker == w)
        assert [r["seq"] for r in mine] == list(range(ROWS_PER_WRITER))
    print("auto keys unique, no torn rows, index results consistent")

    # Contended explicit key: one winner.
    db.create_table("locks", primary_key="name")
    locks = db.get_table("locks")
    racers = 16
    gate = threading.Barrier(racers)
    outcome = []

    def take_lock(i):
        gate.wait()
        try:
            locks.insert({"name": "nightly-report", "owner": i})
            outcome.append(("won", i))
        except dictdb.DuplicateKeyError:
            outcome.append(("lost", i))

    threads = [threading.Thread(target=take_lock, args=(i,)) for i in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for what, i in outcome if what == "won"]
    print(f"{racers} threads raced for one key: {len(winners)} winner, "
          f"{racers - len(winners)} DuplicateKeyError")
    assert len(winners) == 1
    assert len(outcome) == racers
    assert locks.get("nightly-report")["owner"] == winners[0]

    # Deleting the same row from many threads: exactly one gets 1.
    gate = threading.Barrier(racers)
    deleted = []

    def release(_):
        gate.wait()
        try:
            deleted.append(locks.delete(where=locks.name == "nightly-report"))
        except dictdb.RecordNotFoundError:
            deleted.append(0)

    threads = [threading.Thread(target=release, args=(i,)) for i in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(deleted) == [0] * (racers - 1) + [1]
    print("concurrent deletes of one row: exactly one succeeded")


async def ticker(ticks, stop):
    while not stop.is_set():
        ticks.append(time.perf_counter())
        await asyncio.sleep(0.001)


async def timed(coro_or_call, ticks):
    """Runs an awaitable (or a plain call) and counts the ticks that happened
    while it ran."""
    before = len(ticks)
    t0 = time.perf_counter()
    if asyncio.iscoroutine(coro_or_call):
        result = await coro_or_call
    else:
        result = coro_or_call()
    elapsed = time.perf_counter() - t0
    # Let the ticker run once more so a tick that was due is not missed.
    await asyncio.sleep(0)
    return result, len(ticks) - before, elapsed


async def async_demo(tmp):
    db = dictdb.DictDB()
    db.create_table("readings", schema={"id": int, "sensor": str, "value": float,
                                        "tags": list})
    readings = db.get_table("readings")
    readings.insert(
        [{"sensor": f"s{i % 50}", "value": i * 0.5, "tags": ["raw", str(i % 7)]}
         for i in range(ROWS)],
        skip_validation=True,
    )
    readings.create_index("sensor")

    ticks = []
    stop = asyncio.Event()
    tick_task = asyncio.create_task(ticker(ticks, stop))
    await asyncio.sleep(0.01)
    try:
        for fmt in ("json", "pickle"):
            path = os.path.join(tmp, f"readings.{fmt}")
            _, n, secs = await timed(db.async_save(path, fmt), ticks)
            print(f"async_save {fmt}: {secs * 1000:.0f} ms, the loop ticked {n} times")
            assert n > 0, "the event loop was blocked during async_save"

            loaded, n, secs = await timed(dictdb.DictDB.async_load(path, fmt), ticks)
            print(f"async_load {fmt}: {secs * 1000:.0f} ms, the loop ticked {n} times")
            assert n > 0, "the event loop was blocked during async_load"
            copy = loaded.get_table("readings")
            assert copy.count() == readings.count() == ROWS
            assert copy.get(12345) == readings.get(12345)
            assert copy.indexed_fields() == ["sensor"]
            assert copy.schema == readings.schema

        # For contrast: the blocking call inside a coroutine stops the loop.
        path = os.path.join(tmp, "blocking.json")
        _, n, secs = await timed(lambda: db.save(path, "json"), ticks)
        print(f"plain save inside a coroutine: {secs * 1000:.0f} ms, "
              f"the loop ticked {n} times")
        assert n <= 1  # at most the tick let through after the call returned

        # Several saves at once, each in its own worker thread.
        paths = [os.path.join(tmp, f"parallel{i}.json") for i in range(3)]
        await asyncio.gather(*(db.async_save(p, "json") for p in paths))
        loaded = await asyncio.gather(*(dictdb.DictDB.async_load(p, "JSON") for p in paths))
        assert all(d.get_table("readings").count() == ROWS for d in loaded)
        print("3 concurrent async saves and loads agree")
    finally:
        stop.set()
        await tick_task


def main():
    threads_demo()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(async_demo(tmp))
    print("threads and async OK")


if __name__ == "__main__":
    main()

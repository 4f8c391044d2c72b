"""Retrying over DictDBError: which errors are worth another try, and backoff.

DictDB raises subclasses of ``dictdb.DictDBError``. Some describe a state
that another attempt can get past, others a bug in the request:

- DuplicateKeyError while allocating a random short code: draw another code.
- RecordNotFoundError from a compare-and-set update (``where`` pins the
  version read before): somebody else won the race; re-read and try again.
- RecordNotFoundError while waiting for a row another thread will insert.
- SchemaValidationError, TableNotFoundError, DuplicateTableError: retrying
  cannot help; they are raised at once.

``call_with_retry`` retries with exponential backoff and jitter, and gives
up after ``attempts``, re-raising the last error.

Run: python retry.py
"""

import functools
import random
import threading
import time

import dictdb_rs as dictdb


class RetryStats:
    def __init__(self):
        self.lock = threading.Lock()
        self.retries = 0

    def __call__(self, exc, attempt, delay):
        with self.lock:
            self.retries += 1


def call_with_retry(fn, *, retryable, attempts=8, base_delay=0.0005, max_delay=0.02,
                    on_retry=None, rng=random):
    """Calls ``fn()`` until it returns; retries a DictDBError for which
    ``retryable(exc)`` is true, sleeping base_delay * 2**n (capped, jittered)
    in between. Anything else, or the last failure, is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except dictdb.DictDBError as exc:
            if attempt == attempts or not retryable(exc):
                raise
            delay = min(max_delay, base_delay * 2 ** (attempt - 1))
            delay *= rng.uniform(0.5, 1.0)
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            time.sleep(delay)


def retrying(**options):
    """The same as a decorator."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return call_with_retry(lambda: fn(*args, **kwargs), **options)
        return wrapper
    return decorate


def is_conflict(exc):
    return isinstance(exc, (dictdb.DuplicateKeyError, dictdb.RecordNotFoundError))


def short_codes():
    print("== 1. short codes: retry DuplicateKeyError with a fresh code")
    db = dictdb.DictDB()
    db.create_table("links", primary_key="code")
    links = db.get_table("links")
    rng = random.Random(7)
    stats = RetryStats()

    def shorten(url):
        # A new code on every attempt: a collision is a reason to draw again.
        return call_with_retry(
            lambda: links.insert({"code": f"{rng.randrange(256):02x}", "url": url}),
            retryable=lambda exc: isinstance(exc, dictdb.DuplicateKeyError),
            attempts=50, on_retry=stats, rng=rng,
        )

    codes = [shorten(f"https://example.com/page/{i}") for i in range(200)]
    print(f"  200 links in a space of 256 codes; {stats.retries} collisions retried")
    assert len(set(codes)) == 200 == links.count()
    assert stats.retries > 0
    assert links.get(codes[17])["url"] == "https://example.com/page/17"


def compare_and_set():
    print("== 2. compare-and-set counter: retry lost races")
    db = dictdb.DictDB()
    db.create_table("counters", primary_key="name")
    counters = db.get_table("counters")
    counters.insert({"name": "visits", "value": 0, "version": 0})
    stats = RetryStats()

    @retrying(retryable=lambda exc: isinstance(exc, dictdb.RecordNotFoundError),
              attempts=200, on_retry=stats)
    def increment(name):
        row = counters.get(name)
        # Only succeeds if nobody changed the row since we read it.
        counters.update(
            {"value": row["value"] + 1, "version": row["version"] + 1},
            where=(counters.name == name) & (counters.version == row["version"]),
        )

    threads, per_thread = 8, 100
    start = threading.Barrier(threads)

    def worker():
        start.wait()
        for _ in range(per_thread):
            increment("visits")

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    final = counters.get("visits")
    print(f"  {threads} threads x {per_thread} increments -> value {final['value']} "
          f"({stats.retries} conflicts retried)")
    assert final["value"] == final["version"] == threads * per_thread


def wait_for_row():
    print("== 3. waiting for a row another thread inserts")
    db = dictdb.DictDB()
    db.create_table("jobs")
    jobs = db.get_table("jobs")

    def producer():
        time.sleep(0.03)
        jobs.insert({"id": 1, "status": "queued"})

    threading.Thread(target=producer).start()
    attempts = []
    claimed = call_with_retry(
        lambda: jobs.update({"status": "running"},
                            where=(jobs.id == 1) & (jobs.status == "queued")),
        retryable=is_conflict, attempts=12, base_delay=0.002, max_delay=0.05,
        on_retry=lambda exc, n, d: attempts.append(n),
    )
    print(f"  claimed job 1 after {len(attempts)} retries")
    assert claimed == 1 and jobs.get(1)["status"] == "running"
    assert attempts, "the row did not exist at first"


def not_retryable():
    print("== 4. errors that are not retried, and giving up")
    db = dictdb.DictDB()
    db.create_table("people", schema={"id": int, "name": str, "age": int})
    people = db.get_table("people")
    calls = []

    def bad_insert():
        calls.append(1)
        return people.insert({"name": "Ann", "age": "forty"})

    try:
        call_with_retry(bad_insert, retryable=is_conflict)
    except dictdb.SchemaValidationError as exc:
        print(f"  SchemaValidationError after {len(calls)} call: {exc}")
    else:
        raise AssertionError("expected SchemaValidationError")
    assert len(calls) == 1

    calls.clear()

    def missing_table():
        calls.append(1)
        return db.get_table("peple")

    try:
        call_with_retry(missing_table, retryable=is_conflict)
    except dictdb.TableNotFoundError:
        pass
    assert len(calls) == 1
    assert issubclass(dictdb.TableNotFoundError, dictdb.DictDBError)

    calls.clear()

    def delete_ghost():
        calls.append(1)
        return people.delete(where=people.name == "Ghost")

    t0 = time.perf_counter()
    try:
        call_with_retry(delete_ghost, retryable=is_conflict, attempts=4)
    except dictdb.RecordNotFoundError as exc:
        print(f"  gave up after {len(calls)} attempts "
              f"({(time.perf_counter() - t0) * 1000:.1f} ms): {exc}")
    else:
        raise AssertionError("expected RecordNotFoundError")
    assert len(calls) == 4

    # Errors outside DictDBError (here a TypeError) are never retried either.
    calls.clear()

    def wrong_call():
        calls.append(1)
        return people.insert("not a dict")

    try:
        call_with_retry(wrong_call, retryable=lambda exc: True)
    except TypeError:
        pass
    assert len(calls) == 1


def main():
    short_codes()
    compare_and_set()
    wait_for_row()
    not_retryable()
    print("retry OK")


if __name__ == "__main__":
    main()

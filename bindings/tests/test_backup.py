"""BackupManager (python-api.md §13, §9.4, §10): the constructor and members of
§13.1, tracking and self-sufficient deltas (§13.2), restore through
``storage.persist.apply_delta`` (§13.4), and backups taken while writers run.

No test asserts a duration: waits poll for an outcome with a generous deadline.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import threading
import time

import pytest

import dictdb_rs as dictdb
from dictdb_rs import BackupManager, DictDB, Table, _logging, logger
from dictdb_rs.storage import persist

FULL = re.compile(r"^dictdb_backup_\d+_\d{6}\.(json|pickle)$")
DELTA = re.compile(r"^dictdb_delta_\d+_\d{6}\.json$")


@pytest.fixture(autouse=True)
def quiet_logger():
    logger.remove()
    yield
    logger.remove()
    _logging._add_default_sink()


def collect(level="DEBUG"):
    out: list[str] = []
    logger.add(out.append, level=level)
    return out


def files(d: pathlib.Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def fulls(d):
    return [n for n in files(d) if n.startswith("dictdb_backup_")]


def deltas(d):
    return [n for n in files(d) if n.startswith("dictdb_delta_")]


def wait_for(cond, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def people(n=3) -> DictDB:
    db = DictDB()
    db.create_table("people")
    t = db.get_table("people")
    for i in range(n):
        t.insert({"name": f"p{i}", "age": 20 + i})
    t.create_index("age", index_type="sorted")
    return db


def snapshot(db: DictDB) -> dict:
    return {
        name: (t.primary_key, t.all(), [(f, type(ix).__name__) for f, ix in t.indexes.items()])
        for name, t in db.tables.items()
    }


def restore(d: pathlib.Path) -> DictDB:
    """What a restore script does: the newest full backup, then the later deltas."""
    names = files(d)
    full = [n for n in names if n.startswith("dictdb_backup_") and n.endswith(".json")]
    base = DictDB.load(str(d / full[-1]), "json") if full else DictDB()
    after = full[-1] if full else ""
    stamp = lambda n: n.split("_", 2)[2].rsplit(".", 1)[0]  # noqa: E731
    for n in names:
        if n.startswith("dictdb_delta_") and (not full or stamp(n) > stamp(after)):
            persist.apply_delta(base, str(d / n))
    return base


# -- §13.1 constructor and members ---------------------------------------------


class TestConstructor:
    def test_attributes_and_initial_state(self, tmp_path):
        db = DictDB()
        target = tmp_path / "a" / "b"
        m = BackupManager(db, str(target), backup_interval=7, file_format="JSON",
                          min_backup_interval=0.25, incremental=True, max_deltas_before_full=4)
        assert target.is_dir(), "created with its parents at once"
        assert m.db is db
        assert isinstance(m.backup_dir, pathlib.Path) and m.backup_dir == target
        assert (m.backup_interval, m.file_format, m.min_backup_interval) == (7, "json", 0.25)
        assert (m.incremental, m.max_deltas_before_full) == (True, 4)
        assert (m.consecutive_failures, m.deltas_since_full) == (0, 0)
        assert files(target) == [], "nothing written before a backup"

    def test_defaults(self, tmp_path):
        m = BackupManager(DictDB(), tmp_path)
        assert (m.backup_interval, m.file_format, m.min_backup_interval) == (300, "json", 5.0)
        assert (m.incremental, m.max_deltas_before_full, m.on_backup_failure) == (False, 10, None)

    def test_exported(self):
        assert dictdb.BackupManager is BackupManager
        assert BackupManager.__module__ == "dictdb_rs"
        assert dictdb.__all__.index("BackupManager") == dictdb.__all__.index("configure_logging") + 1

    def test_counters_are_read_only(self, tmp_path):
        m = BackupManager(DictDB(), tmp_path)
        with pytest.raises(AttributeError):
            m.consecutive_failures = 3
        with pytest.raises(AttributeError):
            m.deltas_since_full = 3


class TestLifecycle:
    def test_start_stop_and_no_restart(self, tmp_path):
        m = BackupManager(people(), tmp_path)
        with pytest.raises(RuntimeError):
            m.stop()
        m.start()
        with pytest.raises(RuntimeError):
            m.start()
        m.stop()  # the 300 s wait is interrupted
        with pytest.raises(RuntimeError):
            m.start()
        with pytest.raises(RuntimeError):
            m.stop()
        assert files(tmp_path) == [], "the first periodic backup comes one interval after start"

    def test_periodic_backups(self, tmp_path):
        out = collect()
        m = BackupManager(people(), tmp_path, backup_interval=1)
        m.start()
        try:
            assert wait_for(lambda: len(fulls(tmp_path)) >= 1)
        finally:
            m.stop()
        n = len(files(tmp_path))
        time.sleep(1.3)
        assert len(files(tmp_path)) == n, "no backup after stop"
        text = "\n".join(out)
        assert "Periodic backup triggered" in text
        assert "Started" in text and "Stopped" in text
        assert "Performing full backup" in text and "Full backup saved" in text

    def test_stop_from_the_failure_callback_does_not_deadlock(self, tmp_path):
        stopped = threading.Event()

        class Failing(DictDB):
            def save(self, filename, file_format):
                raise OSError("disk on fire")

        holder = {}

        def on_failure(exc, n):
            holder["m"].stop()  # from the backup thread: signals and returns
            stopped.set()

        m = BackupManager(Failing(), tmp_path, backup_interval=0.05, on_backup_failure=on_failure)
        holder["m"] = m
        m.start()
        assert stopped.wait(30)
        with pytest.raises(RuntimeError):
            m.start()


class TestBackups:
    def test_full_backup_file_loads_back(self, tmp_path):
        db = people()
        m = BackupManager(db, tmp_path)
        m.backup_now()
        (name,) = files(tmp_path)
        assert FULL.match(name) and name.endswith(".json")
        assert snapshot(DictDB.load(str(tmp_path / name), "json")) == snapshot(db)
        assert (m.consecutive_failures, m.deltas_since_full) == (0, 0)

    def test_pickle_full_backup(self, tmp_path):
        db = people()
        m = BackupManager(db, tmp_path, file_format="Pickle")
        m.backup_full()
        (name,) = files(tmp_path)
        assert FULL.match(name) and name.endswith(".pickle")
        assert snapshot(DictDB.load(str(tmp_path / name), "pickle")) == snapshot(db)
        assert not persist.has_changes(db), "the pickled full backup reset tracking"
        db.get_table("people").insert({"name": "new"})
        m.backup_delta()
        (delta,) = deltas(tmp_path)
        assert DELTA.match(delta), "deltas are JSON also for pickle managers"
        data = json.loads((tmp_path / delta).read_text())
        assert [r["name"] for r in data["tables"]["people"]["upserts"]] == ["new"]

    def test_back_to_back_names_are_unique(self, tmp_path):
        m = BackupManager(people(), tmp_path)
        for _ in range(25):
            m.backup_full()
        assert len(fulls(tmp_path)) == 25

    def test_concurrent_backups_make_distinct_files(self, tmp_path):
        m = BackupManager(people(), tmp_path)
        threads = [threading.Thread(target=lambda: [m.backup_full() for _ in range(5)])
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(fulls(tmp_path)) == 20

    def test_incremental_deltas_then_compaction(self, tmp_path):
        db = people()
        t = db.get_table("people")
        m = BackupManager(db, tmp_path, incremental=True, max_deltas_before_full=3)
        kinds = []
        for i in range(5):
            t.insert({"name": f"n{i}"})
            m.backup_now()
            kinds.append((len(fulls(tmp_path)), len(deltas(tmp_path)), m.deltas_since_full))
        # Starts with a delta; three deltas, then a full backup, then deltas again.
        assert kinds == [(0, 1, 1), (0, 2, 2), (0, 3, 3), (1, 3, 0), (1, 4, 1)]

    def test_delta_without_changes_writes_nothing(self, tmp_path):
        db = people()
        m = BackupManager(db, tmp_path, incremental=True)
        m.backup_full()
        out = collect()
        m.backup_delta()
        m.backup_now()
        assert deltas(tmp_path) == [] and m.deltas_since_full == 0
        assert "delta skipped" in "\n".join(out)

    def test_full_backup_resets_tracking(self, tmp_path):
        db = people()
        t = db.get_table("people")
        m = BackupManager(db, tmp_path, incremental=True)
        assert persist.has_changes(db), "a new database's tables count as created"
        m.backup_full()
        assert not persist.has_changes(db)
        t.update({"age": 99}, where=t.name == "p1")
        db.create_table("more")
        m.backup_delta()
        (delta,) = deltas(tmp_path)
        data = json.loads((tmp_path / delta).read_text())
        assert data["type"] == "delta"
        assert list(data["created"]) == ["more"] and data["dropped"] == []
        assert data["tables"]["people"]["upserts"] == [{"id": 2, "name": "p1", "age": 99}]

    def test_registry_changes_reach_deltas(self, tmp_path):
        db = people()
        m = BackupManager(db, tmp_path, incremental=True)
        m.backup_full()
        db.tables["people"] = Table("people", "id")  # replaced: dropped and created
        db.tables["people"].insert({"x": 1})
        m.backup_delta()
        (delta,) = deltas(tmp_path)
        data = json.loads((tmp_path / delta).read_text())
        assert data["dropped"] == ["people"] and list(data["created"]) == ["people"]
        assert snapshot(restore(tmp_path)) == snapshot(db)


class TestSaveOverride:
    def test_override_is_called_and_super_save_resets_tracking(self, tmp_path):
        calls = []

        class Audited(DictDB):
            def save(self, filename, file_format):
                calls.append((type(filename), file_format))
                super().save(filename, file_format)

        db = Audited()
        db.create_table("t")
        db.get_table("t").insert({"a": 1})
        m = BackupManager(db, tmp_path)
        m.backup_full()
        assert calls == [(str, "json")]
        assert not persist.has_changes(db), "super().save acted as the full backup"
        # A plain save is not a backup: it leaves tracking alone.
        db.get_table("t").insert({"a": 2})
        db.save(str(tmp_path / "plain.json"), "json")
        assert persist.has_changes(db)

    def test_override_not_calling_builtin_save_leaves_tracking(self, tmp_path):
        class Elsewhere(DictDB):
            def save(self, filename, file_format):
                pathlib.Path(filename).write_text("{}")

        db = Elsewhere()
        db.create_table("t")
        m = BackupManager(db, tmp_path)
        m.backup_full()
        assert len(fulls(tmp_path)) == 1
        assert persist.has_changes(db)

    def test_only_the_first_builtin_save_is_the_backup(self, tmp_path):
        class Twice(DictDB):
            def save(self, filename, file_format):
                super().save(filename, file_format)
                # A second copy elsewhere is an ordinary save.
                self.get_table("t").insert({"late": True})
                super().save(filename + ".copy", file_format)

        db = Twice()
        db.create_table("t")
        BackupManager(db, tmp_path, incremental=True).backup_full()
        assert persist.has_changes(db), "the insert after the backup is still tracked"


class TestFailures:
    def test_failed_full_backup_counts_logs_and_calls_back(self, tmp_path):
        seen = []
        boom = OSError("disk full")

        class Failing(DictDB):
            fail = True

            def save(self, filename, file_format):
                if self.fail:
                    raise boom
                super().save(filename, file_format)

        db = Failing()
        out = collect("ERROR")
        m = BackupManager(db, tmp_path, on_backup_failure=lambda e, n: seen.append((e, n)))
        m.backup_now()
        m.backup_full()
        assert m.consecutive_failures == 2
        assert [(e is boom, n) for e, n in seen] == [(True, 1), (True, 2)]
        assert out[0].endswith("Backup failed (1 consecutive): disk full")
        assert "Backup failed (2 consecutive): disk full" in out[1]
        db.fail = False
        m.backup_full()
        assert m.consecutive_failures == 0 and len(fulls(tmp_path)) == 1

    def test_failed_delta_message(self, tmp_path, monkeypatch):
        db = people()
        out = collect("ERROR")
        m = BackupManager(db, tmp_path, incremental=True)

        def broken(*a, **k):
            raise ValueError("no room")

        monkeypatch.setattr(persist, "save_delta", broken)
        m.backup_now()
        assert m.consecutive_failures == 1 and m.deltas_since_full == 0
        assert "Delta backup failed (1 consecutive): no room" in out[0]

    def test_failed_write_keeps_tracking(self, tmp_path):
        db = people()
        d = tmp_path / "gone"
        m = BackupManager(db, d, incremental=True)
        m.backup_full()
        db.get_table("people").insert({"name": "kept"})
        shutil.rmtree(d)  # the next file cannot be written
        m.backup_full()
        assert m.consecutive_failures == 1
        assert persist.has_changes(db), "the captured changes were put back"
        d.mkdir()
        m.backup_delta()
        (delta,) = deltas(d)
        upserts = json.loads((d / delta).read_text())["tables"]["people"]["upserts"]
        assert [r["name"] for r in upserts] == ["kept"]

    def test_failed_pickle_write_keeps_tracking(self, tmp_path):
        db = people()
        d = tmp_path / "gone"
        m = BackupManager(db, d, file_format="pickle")
        shutil.rmtree(d)
        m.backup_full()
        assert m.consecutive_failures == 1 and persist.has_changes(db)

    def test_callback_may_call_the_manager_and_its_exception_is_swallowed(self, tmp_path):
        out = collect("ERROR")
        calls = []

        class Failing(DictDB):
            def save(self, filename, file_format):
                raise RuntimeError("nope")

        holder = {}

        def on_failure(exc, n):
            calls.append(n)
            if n == 1:
                holder["m"].backup_now()  # re-enters: no deadlock, counts 2
            raise KeyError("callback bug")

        m = BackupManager(Failing(), tmp_path, on_backup_failure=on_failure)
        holder["m"] = m
        m.backup_now()
        assert sorted(calls) == [1, 2] and m.consecutive_failures == 2
        assert any("on_backup_failure callback raised" in line for line in out)

    def test_concurrent_failures_count_without_gaps(self, tmp_path):
        seen = []
        lock = threading.Lock()

        class Failing(DictDB):
            def save(self, filename, file_format):
                time.sleep(0.001)
                raise OSError("x")

        def on_failure(exc, n):
            with lock:
                seen.append(n)

        m = BackupManager(Failing(), tmp_path, on_backup_failure=on_failure)
        threads = [threading.Thread(target=lambda: [m.backup_now() for _ in range(5)])
                   for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(seen) == list(range(1, 31))


class TestNotifyChange:
    def test_debounce(self, tmp_path):
        out = collect()
        m = BackupManager(people(), tmp_path, min_backup_interval=0.3)
        m.notify_change()
        assert len(fulls(tmp_path)) == 1, "the first call backs up at once"
        m.notify_change()
        assert len(fulls(tmp_path)) == 1
        assert "debounced" in "\n".join(out)
        time.sleep(0.35)
        m.notify_change()
        assert len(fulls(tmp_path)) == 2

    def test_many_calls_within_the_interval_make_one_backup(self, tmp_path):
        m = BackupManager(people(), tmp_path, min_backup_interval=60)
        threads = [threading.Thread(target=lambda: [m.notify_change() for _ in range(5)])
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(fulls(tmp_path)) == 1

    def test_a_failed_backup_does_not_debounce(self, tmp_path):
        d = tmp_path / "gone"
        m = BackupManager(people(), d, min_backup_interval=60)
        shutil.rmtree(d)
        m.notify_change()
        d.mkdir()
        m.notify_change()
        assert len(fulls(d)) == 1, "only a successful backup starts the interval"


# -- §13.2/§13.4: restore, and backups while writers run (§10) -----------------


class TestRestore:
    def test_deltas_alone_restore_the_database(self, tmp_path):
        db = DictDB()
        m = BackupManager(db, tmp_path, incremental=True, max_deltas_before_full=100)
        db.create_table("a")
        a = db.get_table("a")
        a.insert({"v": 1})
        m.backup_now()
        a.update({"v": 2}, where=a.v == 1)
        a.insert({"v": 3})
        m.backup_now()
        a.delete(where=a.v == 3)
        db.create_table("b", "k")
        db.get_table("b").insert({"k": "x"})
        m.backup_now()
        assert fulls(tmp_path) == []
        assert snapshot(restore(tmp_path)) == snapshot(db)

    def test_full_plus_later_deltas(self, tmp_path):
        db = people(10)
        t = db.get_table("people")
        m = BackupManager(db, tmp_path, incremental=True, max_deltas_before_full=2)
        for i in range(7):
            t.upsert({"id": i + 1, "name": f"v{i}"})
            t.insert({"name": f"extra{i}"})
            if i % 3 == 0:
                t.delete(where=t.name == f"extra{i}")
            m.backup_now()
        assert fulls(tmp_path) and deltas(tmp_path)
        assert snapshot(restore(tmp_path)) == snapshot(db)

    def test_backups_while_writers_run_are_valid(self, tmp_path):
        db = DictDB()
        db.create_table("log")
        log = db.get_table("log")
        log.create_index("writer")
        stop = threading.Event()
        errors = []

        def writer(w):
            try:
                i = 0
                while not stop.is_set():
                    # A bulk insert is atomic: a snapshot holds all 5 or none.
                    log.insert([{"writer": w, "batch": i, "n": k} for k in range(5)])
                    log.update({"seen": True}, where=(log.writer == w) & (log.batch == i))
                    i += 1
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        m = BackupManager(db, tmp_path, incremental=True, max_deltas_before_full=3)
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        for t in threads:
            t.start()
        try:
            for _ in range(12):
                m.backup_now()
                time.sleep(0.01)
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert not errors
        m.backup_now()  # the tail of the writes
        for name in fulls(tmp_path):
            rows = DictDB.load(str(tmp_path / name), "json").get_table("log").all()
            batches = {}
            for r in rows:
                batches.setdefault((r["writer"], r["batch"]), []).append(r)
            assert all(len(b) == 5 for b in batches.values()), "no half-written bulk insert"
        restored = restore(tmp_path)
        assert snapshot(restored) == snapshot(db)
        assert m.consecutive_failures == 0
        r = restored.get_table("log")
        assert sorted(x["id"] for x in r.select(where=r.writer == 1)) == sorted(
            x["id"] for x in log.select(where=log.writer == 1))


class TestProcessLifetime:
    def test_a_started_manager_needs_no_reference_and_exit_is_clean(self, tmp_path):
        """``BackupManager(...).start()`` keeps backing up (as DictDB's thread
        keeps its manager alive), and an interpreter exiting while backups run
        back to back stops the thread first: exit code 0, no abort or hang."""
        import subprocess
        import sys
        import textwrap

        code = textwrap.dedent(f"""
            import time, dictdb_rs as dictdb
            db = dictdb.DictDB()
            db.create_table("t")
            db.get_table("t").insert({{"a": 1}})
            dictdb.BackupManager(db, {str(tmp_path)!r}, backup_interval=0).start()
            deadline = time.monotonic() + 30
            import os
            while len(os.listdir({str(tmp_path)!r})) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            print("files", len(os.listdir({str(tmp_path)!r})) >= 3)
        """)
        for _ in range(3):
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 timeout=120)
            assert out.returncode == 0, out.stderr
            assert "files True" in out.stdout


class TestBadInput:
    def test_a_file_in_the_way_of_the_directory(self, tmp_path):
        blocker = tmp_path / "taken"
        blocker.write_text("x")
        with pytest.raises(OSError, match="taken"):
            BackupManager(DictDB(), blocker / "sub")

    @pytest.mark.parametrize("kw", [{"backup_interval": -1}, {"backup_interval": float("nan")},
                                    {"min_backup_interval": float("inf")},
                                    {"min_backup_interval": -0.5}])
    def test_intervals_must_be_non_negative_seconds(self, tmp_path, kw):
        with pytest.raises(ValueError, match="non-negative number of seconds"):
            BackupManager(DictDB(), tmp_path, **kw)
        assert files(tmp_path) == []

    def test_unknown_format_fails_each_backup_without_raising(self, tmp_path):
        seen = []
        out = collect("ERROR")
        m = BackupManager(people(), tmp_path, file_format="XML",
                          on_backup_failure=lambda e, n: seen.append((type(e), n)))
        assert m.file_format == "xml"
        m.backup_now()
        assert seen == [(ValueError, 1)] and m.consecutive_failures == 1
        assert "Backup failed (1 consecutive): Unsupported file format" in out[0]
        assert fulls(tmp_path) == []

"""A production-style app: an order service with incremental backups and a
crash-restore drill.

- ``AppDB`` subclasses ``DictDB`` and overrides ``save`` (it counts full
  backups and can simulate a full disk), calling ``super().save``.
- A ``BackupManager`` in incremental mode writes a delta after each burst of
  writes (``notify_change``, debounced by ``min_backup_interval``) and a full
  backup every ``max_deltas_before_full`` deltas; ``on_backup_failure`` is
  told about failed backups.
- After a simulated crash the database is restored from the backup directory
  alone: the newest full backup (``DictDB.load``), then every later delta file
  in order (``dictdb_rs.storage.persist.apply_delta``). The restored data must
  equal the live data.

Run: python production_app.py
"""

import pathlib
import tempfile
import time

import dictdb_rs as dictdb
from dictdb_rs.storage.persist import apply_delta, has_changes


class DiskFullError(OSError):
    pass


class AppDB(dictdb.DictDB):
    """The application's database: a DictDB whose saves can be observed."""

    def __init__(self):
        super().__init__()
        self.full_saves = 0
        self.disk_full = False  # flipped by the drill below

    def save(self, filename, file_format):
        if self.disk_full:
            raise DiskFullError(28, "No space left on device", filename)
        super().save(filename, file_format)
        self.full_saves += 1


class OrderService:
    """The business layer: every write is followed by notify_change()."""

    def __init__(self, db, backups):
        self.db = db
        self.backups = backups
        self.customers = db.get_table("customers")
        self.orders = db.get_table("orders")

    def _changed(self):
        self.backups.notify_change()

    def add_customer(self, name, country):
        pk = self.customers.insert({"name": name, "country": country})
        self._changed()
        return pk

    def place_order(self, customer_id, total):
        if self.customers.get(customer_id) is None:
            raise dictdb.RecordNotFoundError(f"no customer {customer_id}")
        pk = self.orders.insert(
            {"customer_id": customer_id, "total": float(total), "status": "new"}
        )
        self._changed()
        return pk

    def ship(self, order_id):
        self.orders.update({"status": "shipped"}, where=self.orders.id == order_id)
        self._changed()

    def cancel(self, order_id):
        self.orders.delete(where=self.orders.id == order_id)
        self._changed()

    def audit(self, event):
        if "audit" not in self.db.tables:
            self.db.create_table("audit")
        self.db.get_table("audit").insert({"event": event, "at": time.time()})
        self._changed()


def backup_files(backup_dir):
    """(timestamp, kind, path) for every backup file, oldest first. Names look
    like dictdb_backup_1795288515_550660.json / dictdb_delta_<ts>.json."""
    found = []
    for path in backup_dir.iterdir():
        stem = path.name.rsplit(".", 1)[0]
        prefix, secs, micros = stem.rsplit("_", 2)
        kind = {"dictdb_backup": "full", "dictdb_delta": "delta"}.get(prefix)
        if kind is not None:
            found.append(((int(secs), int(micros)), kind, path))
    return sorted(found)


def restore(backup_dir, file_format="json"):
    """Newest full backup, then every later delta in order. Deltas are
    self-sufficient, so with no full backup at all we replay every delta onto
    an empty database."""
    files = backup_files(backup_dir)
    fulls = [f for f in files if f[1] == "full"]
    if fulls:
        ts, _, path = fulls[-1]
        db = dictdb.DictDB.load(str(path), file_format)
        print(f"restore: loaded full backup {path.name}")
    else:
        ts, db = (0, 0), dictdb.DictDB()
        print("restore: no full backup, starting from an empty database")
    for delta_ts, kind, path in files:
        if kind == "delta" and delta_ts > ts:
            n = apply_delta(db, str(path))
            print(f"restore: applied {path.name} ({n} changes)")
    return db


def snapshot(db):
    """What must survive a crash: every table's definition and rows, in order."""
    return {
        name: {
            "primary_key": t.primary_key,
            "schema": t.schema,
            "indexes": t.indexed_fields(),
            "rows": t.all(),
        }
        for name, t in db.tables.items()
    }


def main():
    # Production apps route dictdb's logs somewhere; here: a list we can check.
    errors = []
    dictdb.logger.remove()
    dictdb.logger.add(errors.append, level="ERROR")

    with tempfile.TemporaryDirectory() as tmp:
        backup_dir = pathlib.Path(tmp) / "backups"

        db = AppDB()
        db.create_table("customers")
        db.create_table(
            "orders",
            schema={"id": int, "customer_id": int, "total": float, "status": str},
        )
        db.get_table("orders").create_index("status")            # hash
        db.get_table("orders").create_index("total", "sorted")   # ranges
        db.create_table("sessions")  # scratch table, dropped later

        alerts = []

        def on_backup_failure(exc, consecutive):
            # A real app would page someone; the manager keeps running.
            alerts.append((type(exc).__name__, consecutive))
            print(f"ALERT: backup failed {consecutive} time(s) in a row: {exc}")

        backups = dictdb.BackupManager(
            db,
            backup_dir,
            backup_interval=300,          # periodic safety net (not reached here)
            file_format="json",
            min_backup_interval=0.05,     # debounce bursts of writes
            on_backup_failure=on_backup_failure,
            incremental=True,
            max_deltas_before_full=3,
        )
        assert backup_dir.is_dir()  # created by the constructor
        backups.start()
        print(f"backup manager started: incremental, full every "
              f"{backups.max_deltas_before_full} deltas")

        app = OrderService(db, backups)
        try:
            # Bursts of writes; within a burst notify_change() is debounced,
            # the next burst's first write picks the skipped changes up.
            customers = [app.add_customer(n, c) for n, c in
                         [("Ada", "UK"), ("Linus", "FI"), ("Grace", "US")]]
            time.sleep(0.06)
            orders = [app.place_order(c, 10 * (i + 1)) for i, c in
                      enumerate(customers * 2)]
            time.sleep(0.06)
            app.ship(orders[0])
            app.ship(orders[1])
            db.drop_table("sessions")
            app.audit("dropped sessions")
            time.sleep(0.06)
            app.cancel(orders[2])
            app.audit("cancelled an order")
            time.sleep(0.06)

            # The disk fills up: an explicit full backup fails, the callback
            # hears about it and the error is logged.
            db.disk_full = True
            backups.backup_full()
            assert backups.consecutive_failures == 1
            assert alerts == [("DiskFullError", 1)], alerts
            assert any("Backup failed (1 consecutive):" in line for line in errors), errors
            db.disk_full = False

            # More work after the disk was cleaned up.
            late = app.add_customer("Barbara", "US")
            app.place_order(late, 99.5)
            app.ship(orders[3])
            time.sleep(0.06)
            app.place_order(customers[0], 1.25)
            app.customers.update({"country": "GB"}, where=app.customers.name == "Ada")
            app.audit("renamed a country")

            # Graceful shutdown flushes what the debounce may have skipped.
            backups.backup_now()
            assert backups.consecutive_failures == 0
        finally:
            backups.stop()
        print("backup manager stopped")

        files = backup_files(backup_dir)
        kinds = [kind for _, kind, _ in files]
        print(f"{len(files)} backup files: {kinds.count('full')} full, "
              f"{kinds.count('delta')} delta")
        assert kinds[:3] == ["delta", "delta", "delta"]  # incremental starts with deltas
        assert "full" in kinds and kinds.count("delta") >= 4
        assert db.full_saves == kinds.count("full")
        assert not has_changes(db)  # everything is backed up

        live = snapshot(db)

        # --- the process crashes here; all we have is the backup directory ---
        restored = restore(backup_dir)
        assert restored.list_tables() == ["customers", "orders", "audit"]
        assert snapshot(restored) == live, "restored data differs from the live data"
        orders_restored = restored.get_table("orders")
        assert [r["id"] for r in orders_restored.select(
            where=orders_restored.status == "shipped")] == [1, 2, 4]
        # Ids are not reused after a restore: both databases hand out the same
        # next id.
        new_order = {"customer_id": 1, "total": 5.0, "status": "new"}
        assert orders_restored.insert(dict(new_order)) == \
            db.get_table("orders").insert(dict(new_order))
        print(f"restored {sum(len(t['rows']) for t in live.values())} rows in "
              f"{len(live)} tables; they equal the live data")

    print("production app OK")


if __name__ == "__main__":
    main()

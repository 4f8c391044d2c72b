"""Logging with dictdb_rs: configure_logging, sinks, JSON lines, sampling.

1. ``configure_logging(level="INFO", logfile=...)``: text lines on the console
   and in a file; DEBUG records are filtered out.
2. ``configure_logging(level="DEBUG", json=True)``: JSON lines, parsed back.
3. ``logger.remove()`` / ``logger.add(callable, level=..., filter=...)``:
   a callable sink that keeps only one table's records, a serialized callable
   sink, and ``logger.bind`` for the application's own messages.
4. ``sample_debug_every=N``: only every N-th DEBUG record reaches each sink.
5. The messages programs match on (python-api.md §9.4), including the ERRORs
   of a failing BackupManager, reaching a sink.

Run: python logging_config.py
"""

import contextlib
import io
import json
import logging
import os
import pathlib
import re
import shutil
import tempfile

import dictdb_rs as dictdb
from dictdb_rs import configure_logging, logger

TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \| (DEBUG|INFO|WARNING|ERROR|CRITICAL) *"
    r"\| (.+ \| )?.*$"
)


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def work(table_name="orders"):
    """Some ordinary database work that logs."""
    db = dictdb.DictDB()
    db.create_table(table_name)
    t = db.tables[table_name]
    t.insert({"item": "tea", "qty": 2})
    t.insert([{"item": "milk", "qty": 1}, {"item": "bread", "qty": 3}])
    t.select(where=t.qty > 1)
    t.update({"qty": 5}, where=t.item == "tea")
    t.delete(where=t.item == "milk")
    return db


def text_logging(tmp):
    print("== 1. text, level INFO, console + file")
    logfile = os.path.join(tmp, "dictdb.log")
    console = io.StringIO()
    with contextlib.redirect_stdout(console):  # the console sink is sys.stdout
        configure_logging(level="INFO", console=True, logfile=logfile)
        work()
    shown = console.getvalue().splitlines()
    in_file = read_lines(logfile)
    for line in shown[:3]:
        print("  console:", line)
    assert shown == in_file, "console and file get the same lines"
    assert all(TEXT_LINE.match(line) for line in in_file), in_file[:3]
    assert any("Initialized an empty DictDB instance" in line for line in in_file)
    assert not any("| DEBUG" in line for line in in_file), "DEBUG is below INFO"
    # Extras are written as k=v between the level and the message.
    assert any("table=orders" in line for line in in_file)
    print(f"  {len(in_file)} INFO lines, no DEBUG lines")


def json_logging(tmp):
    print("== 2. JSON lines, level DEBUG, file only")
    logfile = os.path.join(tmp, "dictdb.jsonl")
    configure_logging(level="DEBUG", console=False, logfile=logfile, json=True)
    work("events")
    records = [json.loads(line) for line in read_lines(logfile)]
    assert all(list(r) == ["time", "level", "message", "extra"] for r in records)
    levels = {r["level"] for r in records}
    print(f"  {len(records)} JSON records, levels {sorted(levels)}")
    assert {"DEBUG", "INFO"} <= levels
    messages = [r["message"] for r in records]
    for fragment in ("Initialized an empty DictDB instance",
                     "[DictDB] Creating table 'events'",
                     "[INSERT] Inserting record into 'events'",
                     "[SELECT] Querying 'events'"):
        hit = next(r for r in records if fragment in r["message"])
        print(f"  {hit['level']:<5} {hit['message']!r} extra={hit['extra']}")
    assert any(r["extra"].get("table") == "events" and r["extra"].get("op") == "insert"
               for r in records), messages


def callable_sinks():
    print("== 3. callable sinks, filter, serialize, bind")
    logger.remove()  # no default stderr sink: only ours
    orders_only = []
    as_json = []
    sink_id = logger.add(
        orders_only.append,
        level="DEBUG",
        filter=lambda rec: rec["extra"].get("table") == "orders",
    )
    second_id = logger.add(as_json.append, level="WARNING", serialize=True)
    assert second_id > sink_id  # ids keep increasing

    work("orders")
    work("invoices")
    log = logger.bind(component="checkout", request_id="r-42")
    log.info("order {order_id} paid", order_id=7)
    log.warning("stock low for {item}", item="tea")
    log.warning("a brace { in the text does not break logging", item="x")

    assert orders_only and all("'invoices'" not in line for line in orders_only)
    assert any("[INSERT] Inserting record into 'orders'" in line for line in orders_only)
    assert all(not line.endswith("\n") for line in orders_only)
    print(f"  filtered sink: {len(orders_only)} lines, all about 'orders'")

    warnings = [json.loads(line) for line in as_json]
    assert [w["message"] for w in warnings] == [
        "stock low for tea", "a brace { in the text does not break logging"]
    assert warnings[0]["extra"] == {"component": "checkout", "request_id": "r-42",
                                    "item": "tea"}
    print(f"  WARNING sink (JSON): {warnings[0]['message']!r} {warnings[0]['extra']}")

    # Programs that prefer the standard library add a handler to its logger.
    received = []

    class Collect(logging.Handler):
        def emit(self, record):
            received.append(record.getMessage())

    std = logging.getLogger("dictdb")
    handler = Collect(level=logging.INFO)
    std.addHandler(handler)
    try:
        dictdb.DictDB()
    finally:
        std.removeHandler(handler)
    assert any("Initialized an empty DictDB instance" in m for m in received), received
    print("  stdlib handler on logging.getLogger('dictdb') got the INFO record")
    logger.remove()


def sampling(tmp):
    print("== 4. DEBUG sampling: every 10th DEBUG record per sink")
    logfile = os.path.join(tmp, "sampled.log")
    configure_logging(level="DEBUG", console=False, logfile=logfile, sample_debug_every=10)
    everything = []
    logger.add(everything.append, level="DEBUG")  # not sampled: for comparison

    db = dictdb.DictDB()
    db.create_table("metrics")
    metrics = db.tables["metrics"]
    for i in range(95):
        metrics.insert({"value": i})
    for i in range(5):
        metrics.select(where=metrics.value == i)

    def count(lines, level):
        return sum(f"| {level} " in line for line in lines)

    sampled = read_lines(logfile)
    # The file also got configure_logging's own DEBUG record, sent before
    # the comparison sink existed; it counts for sampling.
    debug_total = count(everything, "DEBUG") + 1
    print(f"  {debug_total} DEBUG records emitted, {count(sampled, 'DEBUG')} written; "
          f"INFO: {count(everything, 'INFO')} emitted, {count(sampled, 'INFO')} written")
    assert count(sampled, "DEBUG") == debug_total // 10
    assert count(sampled, "INFO") == count(everything, "INFO") >= 95
    logger.remove()


def backup_errors(tmp):
    print("== 5. the ERRORs of a failing BackupManager reach the sinks")
    lines = []
    logger.remove()
    logger.add(lines.append, level="INFO")
    alerts = []

    db = dictdb.DictDB()
    db.create_table("orders")
    db.tables["orders"].insert({"item": "tea"})
    backup_dir = pathlib.Path(tmp) / "backups"
    manager = dictdb.BackupManager(
        db, backup_dir, incremental=True,
        on_backup_failure=lambda exc, n: alerts.append(n))
    # Somebody replaces the backup directory with a file: every write fails.
    shutil.rmtree(backup_dir)
    backup_dir.write_text("not a directory")
    manager.backup_delta()
    manager.backup_full()
    errors = [line for line in lines if "| ERROR" in line]
    for line in errors:
        print("  ", line.split(" | ", 2)[-1][:100])
    assert any("Delta backup failed (1 consecutive):" in line for line in errors), errors
    assert any("Backup failed (2 consecutive):" in line for line in errors), errors
    assert alerts == [1, 2]
    assert manager.consecutive_failures == 2
    logger.remove()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        text_logging(tmp)
        json_logging(tmp)
        callable_sinks()
        sampling(tmp)
        backup_errors(tmp)
    print("logging config OK")


if __name__ == "__main__":
    main()

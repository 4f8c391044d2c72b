"""Runs the standard workload of performance.md against dictdb_rs and its peers,
checks that every engine gives the same answers, and prints medians and ratios.

Each engine runs in a process of its own (``workload.py --engine NAME``), one
after the other, so that their memory, threads and garbage collectors do not
meet; pure-Python DictDB runs under a Python 3.13 (``--python313``). A mismatch
between engines is reported naming the op, the engine/variant and the call; no
time is reported for that op, and the exit status is 1.

    python bench.py --rows 100000                # what run.sh runs
    python bench.py --rows 1000 --quick          # correctness only
    python bench.py --rows 100000,1000000 --engines dictdb_rs,sqlite3 --md out.md
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import workload as W  # noqa: E402

ENGINE_ORDER = ("dictdb_rs", "sqlite3", "duckdb", "polars", "dictdb-py")
MODULES = {"dictdb_rs": "dictdb_rs", "sqlite3": "sqlite3", "duckdb": "duckdb",
           "polars": "polars"}
PEERS = ("sqlite3", "duckdb", "polars")
TITLES = {"dictdb_rs": "dictdb_rs", "sqlite3": "sqlite3", "duckdb": "DuckDB",
          "polars": "polars", "dictdb-py": "DictDB (pure Python)"}
PER_OP = ("bulk_load", "save", "load")      # one call = the whole op
PEER_TARGET, PURE_TARGET = 2.0, 50.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def fmt(seconds):
    if seconds is None:
        return "–"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def fmt_ratio(r):
    if r is None:
        return "–"
    return f"{r:.0f}×" if r >= 100 else f"{r:.3g}×"


def median(xs):
    return W._median(xs)


# --------------------------------------------------------------------------
# running


def default_py313():
    cand = os.path.join(HERE, "..", "..", "target", "benchenv313", "bin", "python")
    return os.path.abspath(cand) if os.path.exists(cand) else None


def python_for(engine, py313):
    """The interpreter that runs an engine, or (None, reason)."""
    if engine == "dictdb-py":
        if not py313:
            return None, "no Python 3.13 venv with dctdb (--python313)"
        ok = subprocess.run([py313, "-c", "import dictdb"], capture_output=True).returncode == 0
        return (py313, None) if ok else (None, f"{py313} cannot import dictdb (pip install dctdb)")
    if importlib.util.find_spec(MODULES[engine]) is None:
        return None, f"{MODULES[engine]} is not installed in {sys.executable}"
    return sys.executable, None


def run_engine(engine, py, rows, args):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [py, os.path.join(HERE, "workload.py"), "--engine", engine, "--rows", str(rows),
           "--budget", str(args.budget), "--out", out]
    if args.quick:
        cmd.append("--quick")
    if args.tmpdir:
        cmd += ["--tmpdir", args.tmpdir]
    try:
        proc = subprocess.run(cmd)
        if proc.returncode != 0:
            raise SystemExit(f"{engine} failed (exit {proc.returncode}): {shlex.join(cmd)}")
        with open(out) as f:
            return json.load(f)
    finally:
        os.unlink(out)


# --------------------------------------------------------------------------
# reporting


def per_call(entry):
    return median(entry["times"]) / entry["calls"]


def comparable(op, ref_form, form):
    """Whether a peer's result has dictdb_rs's output form for this op."""
    if op == "save":
        return True  # every engine writes its own natural file format
    return form == ref_form


def best_variant(res, op, ref_form):
    """(seconds, variant) of an engine's fastest variant of the comparable form."""
    best = None
    for variant, e in res["ops"].get(op, {}).items():
        if "times" not in e or not comparable(op, ref_form, e["form"]):
            continue
        t = per_call(e)
        if best is None or t < best[0]:
            best = (t, variant)
    return best


def analyse(results, bad_ops):
    """Per op: cells per engine, the best peer, ratios and target verdicts."""
    rows = []
    rs = results.get("dictdb_rs")
    for op in W.OPS:
        if op == "memory":
            continue
        ops_rs = rs["ops"].get(op, {}) if rs else {}
        ref = ops_rs.get("dsl") or next((v for v in ops_rs.values() if "times" in v), None)
        ref_form = ref["form"] if ref else W.DICTS
        cells = {}
        for eng, res in results.items():
            if eng == "dictdb_rs":  # the reference: its DSL variant
                cells[eng] = ("ok", per_call(ref), "dsl") if ref else ("–", None, None)
                continue
            if op in res["ops"] and all("na" in e for e in res["ops"][op].values()):
                cells[eng] = ("n/a", None, None)
                continue
            b = best_variant(res, op, ref_form)
            cells[eng] = ("ok", b[0], b[1]) if b else ("–", None, None)
        sql = None
        if rs and "sql" in rs["ops"].get(op, {}):
            sql = per_call(rs["ops"][op]["sql"])
        peer = [(cells[e][1], e, cells[e][2]) for e in PEERS
                if e in cells and cells[e][1] is not None]
        best_peer = min(peer) if peer else None
        t_rs = per_call(ref) if ref and "times" in ref else None
        vs_peer = best_peer[0] / t_rs if best_peer and t_rs else None
        pure = cells.get("dictdb-py", (None, None, None))[1]
        vs_pure = pure / t_rs if pure and t_rs else None
        rows.append({
            "op": op, "form": ref_form, "cells": cells, "t_rs": t_rs, "t_sql": sql,
            "calls": ref["calls"] if ref else None, "of": ref["of"] if ref else None,
            "best_peer": best_peer, "vs_peer": vs_peer, "vs_pure": vs_pure,
            "sql_vs_peer": best_peer[0] / sql if best_peer and sql else None,
            "bad": op in bad_ops,
        })
    return rows


def verdict(r):
    if r["bad"]:
        return "**answers differ**"
    parts = []
    if r["vs_peer"] is not None:
        parts.append("peer ✓" if r["vs_peer"] >= PEER_TARGET else "peer **✗**")
    if r["vs_pure"] is not None:
        parts.append("DictDB ✓" if r["vs_pure"] >= PURE_TARGET else "DictDB **✗**")
    return ", ".join(parts) or "–"


def unit(op, n_rows):
    return {
        "bulk_load": f"load {n_rows:,} rows + 2 indexes",
        "save": "whole db to a file",
        "load": "file to a new in-memory db",
        "point": "per lookup",
        "eq": "per query (~2% rows)",
        "range": "per query (~4.8% rows)",
        "topk": "per query",
        "group": "per query",
        "like": "per query",
        "insert": "per row",
        "update": "per row",
        "delete": "per row",
    }[op]


def report(results, errors, n_rows, meta):
    bad_ops = {e.split(":", 1)[0] for e in errors}
    engines = [e for e in ENGINE_ORDER if e in results]
    out = [f"### N = {n_rows:,}", ""]
    out.append("Median time per call (per op for bulk_load, save, load); each engine's "
               "fastest variant with dictdb_rs's output form (dicts; an int for like). "
               "`×` = peer time / dictdb_rs (DSL) time: how many times faster dictdb_rs is.")
    out.append("")
    head = ["op", "unit"]
    for e in engines:
        head.append(TITLES[e] + (" DSL" if e == "dictdb_rs" else ""))
        if e == "dictdb_rs":
            head.append("dictdb_rs db.sql")
    head += ["best peer", "× vs best peer", "× vs DictDB", "targets (≥2×, ≥50×)"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    rows = analyse(results, bad_ops)
    for r in rows:
        line = [r["op"], unit(r["op"], n_rows)]
        for e in engines:
            kind, t, variant = r["cells"].get(e, ("–", None, None))
            if r["bad"] and t is not None:
                cell = "(mismatch)"
            elif kind == "n/a":
                cell = "n/a"
            elif t is None:
                cell = "–"
            else:
                cell = fmt(t)
                n_var = len([v for v in results[e]["ops"][r["op"]].values() if "times" in v])
                if n_var > 1 and e != "dictdb_rs":
                    cell += f" ({variant})"
            line.append(cell)
            if e == "dictdb_rs":
                line.append("–" if r["t_sql"] is None or r["bad"] else fmt(r["t_sql"]))
        bp = r["best_peer"]
        line.append(f"{TITLES[bp[1]]}" if bp else "–")
        line.append("–" if r["bad"] else fmt_ratio(r["vs_peer"]))
        line.append("–" if r["bad"] else fmt_ratio(r["vs_pure"]))
        line.append(verdict(r))
        out.append("| " + " | ".join(line) + " |")
    # memory
    mem = ["memory", "RSS growth over the first load, bytes/row"]
    for e in engines:
        m = results[e]["ops"].get("memory", {}).get("rss")
        mem.append(f"{m['value']:.0f} B" if m else "–")
        if e == "dictdb_rs":
            mem.append("–")
    mem += ["", "", "", ""]
    out.append("| " + " | ".join(mem) + " |")
    out.append("")

    # every variant
    out.append("All variants (median per call; `calls` = calls timed per repetition, "
               "of the op's standard count; `×` = variant time / dictdb_rs DSL time):")
    out.append("")
    out.append("| op | engine | variant | output form | calls | reps | median | min | × | note |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    ref = {r["op"]: r["t_rs"] for r in rows}
    for op in W.OPS:
        if op == "memory":
            continue
        for e in engines:
            for variant, ent in results[e]["ops"].get(op, {}).items():
                if "na" in ent:
                    out.append(f"| {op} | {TITLES[e]} | – | – | – | – | n/a | | | {ent['na']} |")
                    continue
                if "times" not in ent:
                    continue
                t = per_call(ent)
                tmin = min(ent["times"]) / ent["calls"]
                ratio = t / ref[op] if ref.get(op) else None
                note = ent.get("note", "")
                if op == "save" and "bytes" in ent:
                    note = (note + "; " if note else "") + f"{ent['bytes'] / 1e6:.1f} MB"
                out.append(
                    f"| {op} | {TITLES[e]} | {variant} | {ent['form']} | "
                    f"{ent['calls']:,}/{ent['of']:,} | {len(ent['times'])} | "
                    f"{'(mismatch)' if op in bad_ops else fmt(t)} | {fmt(tmin)} | "
                    f"{fmt_ratio(ratio)} | {note} |")
    out.append("")
    if errors:
        out.append("**Answers differ** (no time is reported for these ops):")
        out.append("")
        out += [f"- {e}" for e in errors]
        out.append("")
    return "\n".join(out), rows


def machine():
    info = {"nproc": os.cpu_count(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def build_info():
    """Where run.sh's build of dictdb_rs came from, if it recorded it."""
    path = os.path.join(sys.prefix, "dictdb_rs_build.txt")
    try:
        with open(path) as f:
            commit, dirty = f.read().split()
    except (OSError, ValueError):
        return ""
    changes = "" if dirty == "0" else f" + {dirty} uncommitted changed files"
    return f"; built from commit {commit}{changes}"


def loadavg():
    try:
        return os.getloadavg()
    except OSError:
        return None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", default=None,
                   help="N, or several separated by commas (default 100000; "
                        f"{W.QUICK_ROWS} with --quick)")
    p.add_argument("--engines", default=",".join(ENGINE_ORDER),
                   help="comma-separated, from " + ", ".join(ENGINE_ORDER))
    p.add_argument("--quick", action="store_true",
                   help="tiny N, few calls, 1 repetition: correctness only")
    p.add_argument("--python313", default=os.environ.get("BENCH_PY313") or default_py313(),
                   help="Python >= 3.13 with dctdb installed, for dictdb-py")
    p.add_argument("--budget", type=float, default=1.0,
                   help="scale of the time spent per op (1.0: ~1 s per timed batch)")
    p.add_argument("--tmpdir", default=None, help="where save/load write their files")
    p.add_argument("--json", default=None, help="also write all results to this file")
    p.add_argument("--md", default=None, help="also write the report to this file")
    args = p.parse_args(argv)

    sizes = [int(x) for x in args.rows.split(",")] if args.rows else [
        W.QUICK_ROWS if args.quick else 100_000]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ENGINE_ORDER:
            p.error(f"unknown engine {e!r}")

    runnable, skipped = {}, {}
    for e in engines:
        py, why = python_for(e, args.python313)
        if py:
            runnable[e] = py
        else:
            skipped[e] = why
            log(f"skipping {e}: {why}")

    started = datetime.datetime.now()
    meta = {"date": started.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
            "command": shlex.join([os.path.basename(sys.executable)] + sys.argv),
            "skipped": skipped, "loadavg_start": loadavg()}
    doc = [f"## dictdb_rs from Python: standard workload ({meta['date']})", ""]
    m = meta["machine"]
    doc.append(f"- machine: {m.get('cpu', '?')}, nproc {m['nproc']}, "
               f"{m.get('mem_gib', '?')} GiB, {m['platform']}")
    doc.append(f"- command: `{meta['command']}`")
    all_results, failed = {}, False
    for n in sizes:
        results = {}
        for e in engines:
            if e not in runnable:
                continue
            t0 = time.perf_counter()
            log(f"== {e}, N={n:,}")
            results[e] = run_engine(e, runnable[e], n, args)
            log(f"== {e} done in {time.perf_counter() - t0:.0f} s")
        errors = W.compare(results)
        failed = failed or bool(errors)
        for err in errors:
            log(f"MISMATCH {err}")
        if n == sizes[0]:
            for e in (x for x in ENGINE_ORDER if x in results):
                r = results[e]
                doc.append(f"- {TITLES[e]}: {r['version']}, Python {r['python']} "
                           f"(harness overhead {r['harness_overhead_s'] * 1e9:.0f} ns/call)"
                           + (build_info() if e == "dictdb_rs" else ""))
            for e, why in skipped.items():
                doc.append(f"- {TITLES[e]}: not run ({why})")
            doc.append("")
        text, _ = report(results, errors, n, meta)
        doc.append(text)
        all_results[n] = {"results": results, "errors": errors}
    meta["loadavg_end"] = loadavg()
    meta["minutes"] = round((datetime.datetime.now() - started).total_seconds() / 60, 1)
    doc.append(f"Load average at start {meta['loadavg_start']}, at end "
               f"{meta['loadavg_end']}; wall time {meta['minutes']} min.")
    text = "\n".join(doc)
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "runs": {str(k): v for k, v in all_results.items()}}, f)
    if failed:
        log("FAILED: engines disagree (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""dictdb_rs._logging: the logger and configure_logging (python-api.md §9, §16 Q32)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import subprocess
import sys
import textwrap

import pytest

from dictdb_rs import _logging
from dictdb_rs._logging import configure_logging, logger

TS = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}"
LINE = re.compile(r"^(" + TS + r") \| (.{8}) \| (?:(.*) \| )?(.*)$")
ESC = "\033["


@pytest.fixture(autouse=True)
def clean_logger():
    """Every test starts with no sink and ends with the import-time default restored."""
    logger.remove()
    yield
    logger.remove()
    _logging._add_default_sink()


class Stream:
    """A minimal stream: collects what is written; isatty as told."""

    def __init__(self, tty: bool = False) -> None:
        self.tty = tty
        self.parts: list[str] = []
        self.flushes = 0

    def write(self, s: str) -> int:
        self.parts.append(s)
        return len(s)

    def flush(self) -> None:
        self.flushes += 1

    def isatty(self) -> bool:
        return self.tty

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


def collect(**kw):
    """A callable sink added with kw; returns the list it fills."""
    out: list[str] = []
    logger.add(out.append, **kw)
    return out


def run_child(code: str) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (the default sink is bound at import)."""
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


# --------------------------------------------------------------------------------------
# §9.1 the logger object and the stdlib logger under it
# --------------------------------------------------------------------------------------


class TestLoggerObject:
    def test_wraps_stdlib_logger_dictdb(self):
        std = logging.getLogger("dictdb")
        assert std.level == logging.DEBUG
        assert std.propagate is False

    def test_public_methods(self):
        for name in ("add", "remove", "bind", "debug", "info", "warning", "error", "critical"):
            assert callable(getattr(logger, name))
        bound = logger.bind(a=1)
        assert isinstance(bound, _logging.BoundLogger)
        for name in ("bind", "debug", "info", "warning", "error", "critical"):
            assert callable(getattr(bound, name))

    def test_docstrings(self):
        for obj in (
            _logging, _logging.Logger, _logging.BoundLogger, configure_logging,
            logger.add, logger.remove, logger.bind, logger.debug, logger.info,
            logger.warning, logger.error, logger.critical, logger._enabled, logger._log,
            _logging.BoundLogger.bind, _logging.BoundLogger.debug,
        ):
            assert obj.__doc__, obj

    def test_all(self):
        assert "logger" in _logging.__all__ and "configure_logging" in _logging.__all__


# --------------------------------------------------------------------------------------
# §9.1 sinks
# --------------------------------------------------------------------------------------


class TestSinks:
    def test_callable_gets_str_without_newline_or_colour(self):
        out = collect()
        logger.info("hello")
        assert len(out) == 1
        line = out[0]
        assert isinstance(line, str)
        assert not line.endswith("\n")
        assert ESC not in line
        m = LINE.match(line)
        assert m and m.group(2) == "INFO    " and m.group(4) == "hello"

    def test_callable_with_write_is_a_stream(self):
        class CallableStream(Stream):
            def __call__(self, s):  # pragma: no cover - never used as a callable
                raise AssertionError("called as a function")

        s = CallableStream()
        logger.add(s)
        logger.info("x")
        assert s.text.endswith("\n") and s.lines[0].endswith("| x")

    def test_stream_not_tty_plain_with_newline(self):
        s = Stream(tty=False)
        logger.add(s)
        logger.warning("w1")
        logger.error("e1")
        assert s.text.count("\n") == 2 and s.text.endswith("\n")
        assert ESC not in s.text
        assert [LINE.match(x).group(4) for x in s.lines] == ["w1", "e1"]
        assert s.flushes >= 2  # each record is flushed

    def test_stream_without_isatty_is_plain(self):
        class Bare:
            def __init__(self):
                self.buf = []

            def write(self, s):
                self.buf.append(s)

        b = Bare()
        logger.add(b)
        logger.info("m", k=1)
        assert len(b.buf) == 1 and ESC not in b.buf[0]

    def test_stream_isatty_raising_is_plain(self):
        class Broken(Stream):
            def isatty(self):
                raise ValueError("closed")

        s = Broken()
        logger.add(s)
        logger.info("m")
        assert ESC not in s.text

    @pytest.mark.parametrize(
        "method,name,colour",
        [
            ("debug", "DEBUG", "\033[36m"),
            ("info", "INFO", "\033[32m"),
            ("warning", "WARNING", "\033[33m"),
            ("error", "ERROR", "\033[31m"),
            ("critical", "CRITICAL", "\033[35m"),
        ],
    )
    def test_tty_stream_colours(self, method, name, colour):
        s = Stream(tty=True)
        logger.add(s)
        getattr(logger, method)("msg {k}", k="v")
        (line,) = s.lines
        m = re.match(
            r"^\033\[32m(" + TS + r")\033\[0m \| (.*) \| k=v \| (.*)$", line
        )
        assert m, repr(line)
        assert m.group(2) == colour + name.ljust(8) + "\033[0m"
        assert m.group(3) == colour + "msg v" + "\033[0m"

    def test_tty_stream_colours_without_extras(self):
        s = Stream(tty=True)
        logger.add(s)
        logger.info("plain")
        (line,) = s.lines
        assert re.match(
            r"^\033\[32m" + TS + r"\033\[0m \| \033\[32mINFO    \033\[0m \| \033\[32mplain\033\[0m$",
            line,
        ), repr(line)

    def test_file_path_appends(self, tmp_path):
        path = tmp_path / "log.txt"
        path.write_text("existing\n", encoding="utf-8")
        logger.add(str(path))
        logger.info("first", a=1)
        logger.error("second")
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "existing"
        assert len(lines) == 3
        assert LINE.match(lines[1]).group(3, 4) == ("a=1", "first")
        assert LINE.match(lines[2]).group(2, 4) == ("ERROR   ", "second")
        assert ESC not in "".join(lines)

    def test_file_path_never_coloured_and_closed_by_remove(self, tmp_path):
        path = tmp_path / "sub" / "log.txt"  # parent directories are created
        logger.add(str(path))
        logger.critical("c")
        logger.remove()
        logger.critical("after remove")
        text = path.read_text(encoding="utf-8")
        assert text.count("\n") == 1 and "after remove" not in text
        assert ESC not in text

    def test_pathlike_is_a_file_path(self, tmp_path):
        path = tmp_path / "p.log"
        logger.add(path)
        logger.info("via path")
        assert path.read_text(encoding="utf-8").rstrip("\n").endswith("| via path")

    def test_unsupported_sink_raises(self):
        with pytest.raises(TypeError):
            logger.add(42)

    def test_each_record_reaches_each_sink_once(self):
        a = collect()
        b = collect()
        s = Stream()
        logger.add(s)
        logger.info("once")
        assert len(a) == 1 and len(b) == 1 and len(s.lines) == 1

    def test_failing_sink_does_not_break_others(self, monkeypatch):
        monkeypatch.setattr(logging, "raiseExceptions", False)

        def bad(_line):
            raise RuntimeError("boom")

        logger.add(bad)
        out = collect()
        logger.info("still here")
        assert len(out) == 1

    def test_sink_may_call_back_into_logger(self):
        inner = collect(level="DEBUG", filter=lambda r: r["extra"].get("inner"))
        seen = []

        def sink(line):
            seen.append(line)
            if "outer" in line:
                logger.info("from sink", inner=True)

        logger.add(sink, filter=lambda r: not r["extra"].get("inner"))
        logger.info("outer")
        assert len(seen) == 1 and len(inner) == 1 and inner[0].endswith("from sink")

    def test_sink_may_remove_every_sink(self):
        out = []

        def sink(line):
            out.append(line)
            logger.remove()

        logger.add(sink)
        logger.info("a")
        logger.info("b")
        assert len(out) == 1


# --------------------------------------------------------------------------------------
# §9.1 levels and format
# --------------------------------------------------------------------------------------


class TestLevels:
    def emit_all(self):
        logger.debug("d")
        logger.info("i")
        logger.warning("w")
        logger.error("e")
        logger.critical("c")

    @staticmethod
    def messages(out):
        return [LINE.match(x).group(4) for x in out]

    def test_default_add_level_is_debug(self):
        out = collect()
        self.emit_all()
        assert self.messages(out) == ["d", "i", "w", "e", "c"]

    @pytest.mark.parametrize("level", ["warning", "WARNING", "WaRnInG"])
    def test_level_names_case_insensitive(self, level):
        out = collect(level=level)
        self.emit_all()
        assert self.messages(out) == ["w", "e", "c"]

    @pytest.mark.parametrize("level", ["nonsense", "TRACE", ""])
    def test_unknown_level_means_debug(self, level):
        out = collect(level=level)
        self.emit_all()
        assert self.messages(out) == ["d", "i", "w", "e", "c"]

    def test_each_sink_has_its_own_level(self):
        err = collect(level="ERROR")
        info = collect(level="info")
        self.emit_all()
        assert self.messages(err) == ["e", "c"]
        assert self.messages(info) == ["i", "w", "e", "c"]

    def test_level_names_in_lines(self):
        out = collect()
        self.emit_all()
        assert [LINE.match(x).group(2) for x in out] == [
            "DEBUG   ", "INFO    ", "WARNING ", "ERROR   ", "CRITICAL",
        ]

    def test_format_is_accepted_and_ignored(self):
        plain = collect()
        fmt = collect(format="{time} {message} <green>xyz</green>")
        logger.info("same", k=1)
        assert LINE.match(plain[0]).group(2, 3, 4) == LINE.match(fmt[0]).group(2, 3, 4)
        assert "xyz" not in fmt[0]


# --------------------------------------------------------------------------------------
# §9.1 filter
# --------------------------------------------------------------------------------------


class TestFilter:
    def test_filter_receives_level_raw_template_and_extra(self):
        got = []

        def flt(rec):
            got.append((rec["level"].name, rec["message"], dict(rec["extra"])))
            return True

        logger.add(lambda _line: None, filter=flt)
        logger.bind(component="T").warning("Hello {who}", who="you")
        assert got == [("WARNING", "Hello {who}", {"component": "T", "who": "you"})]

    def test_false_drops_for_that_sink_only(self):
        filtered = collect(filter=lambda rec: rec["extra"].get("keep", False))
        everything = collect()
        logger.info("dropped")
        logger.info("kept", keep=True)
        assert [LINE.match(x).group(4) for x in filtered] == ["kept"]
        assert len(everything) == 2

    def test_filter_not_called_below_sink_level(self):
        calls = []
        collect(level="ERROR", filter=lambda rec: calls.append(rec["level"].name) or True)
        logger.debug("x")
        logger.info("x")
        logger.error("x")
        assert calls == ["ERROR"]

    def test_filter_on_level_name(self):
        out = collect(filter=lambda rec: rec["level"].name in ("DEBUG", "CRITICAL"))
        logger.debug("d")
        logger.info("i")
        logger.critical("c")
        assert [LINE.match(x).group(4) for x in out] == ["d", "c"]

    def test_non_callable_filter_rejected(self):
        with pytest.raises(TypeError):
            logger.add(lambda _l: None, filter="dictdb")


# --------------------------------------------------------------------------------------
# §9.1 add ids, remove, default sink
# --------------------------------------------------------------------------------------


class TestIdsAndRemove:
    def test_ids_are_ints_and_increase(self):
        ids = [logger.add(lambda _l: None) for _ in range(3)]
        logger.remove()
        ids.append(logger.add(lambda _l: None))
        ids.append(logger.add(Stream()))
        assert all(type(i) is int for i in ids)
        assert ids == sorted(ids) and len(set(ids)) == len(ids)

    def test_remove_takes_no_id(self):
        with pytest.raises(TypeError):
            logger.remove(1)  # type: ignore[call-arg]

    def test_remove_removes_every_sink(self):
        a = collect()
        s = Stream()
        logger.add(s)
        logger.remove()
        logger.critical("gone")
        assert a == [] and s.text == ""
        assert logger._enabled(logging.CRITICAL) is False

    def test_remove_with_no_sinks_is_fine(self):
        logger.remove()
        logger.remove()
        logger.error("nothing anywhere")

    def test_default_sink_and_remove_in_subprocess(self):
        r = run_child(
            """
            import sys
            from dictdb_rs._logging import logger
            logger.debug("debug-hidden")
            logger.info("info-hidden")
            logger.warning("warn-shown {n}", n=1)
            logger.critical("crit-shown")
            sys.stderr.flush()
            print("---", file=sys.stderr, flush=True)
            logger.remove()
            logger.warning("after-remove-warning")
            logger.critical("after-remove-critical")
            """
        )
        assert r.returncode == 0, r.stderr
        before, after = r.stderr.split("---\n")
        lines = before.splitlines()
        assert len(lines) == 2, r.stderr
        assert LINE.match(lines[0]).group(2, 3, 4) == ("WARNING ", "n=1", "warn-shown 1")
        assert LINE.match(lines[1]).group(2, 4) == ("CRITICAL", "crit-shown")
        assert "hidden" not in r.stderr
        assert after == ""  # no last-resort handler output either
        assert r.stdout == ""

    def test_default_sink_is_stderr_at_import_time(self):
        r = run_child(
            """
            import io, sys
            real = sys.stderr
            from dictdb_rs import _logging
            sys.stderr = io.StringIO()
            _logging.logger.error("to the import-time stderr")
            assert sys.stderr.getvalue() == ""
            sys.stderr = real
            """
        )
        assert r.returncode == 0, r.stderr
        assert r.stderr.count("to the import-time stderr") == 1

    def test_remove_before_add_avoids_duplicates(self):
        r = run_child(
            """
            import sys
            from dictdb_rs._logging import logger
            logger.remove()
            logger.add(sys.stderr, level="DEBUG")
            logger.warning("only once")
            """
        )
        assert r.returncode == 0
        assert r.stderr.count("only once") == 1


# --------------------------------------------------------------------------------------
# §9.1 bind and message text
# --------------------------------------------------------------------------------------


class TestBindAndMessage:
    def test_bind_merges_and_call_time_wins(self):
        out = collect(serialize=True)
        b = logger.bind(component="Table", table="users")
        b.info("m", table="other", op="insert")
        rec = json.loads(out[0])
        assert rec["extra"] == {"component": "Table", "table": "other", "op": "insert"}
        assert list(rec["extra"]) == ["component", "table", "op"]

    def test_bind_of_bind_and_parent_untouched(self):
        out = collect()
        b1 = logger.bind(a=1)
        b2 = b1.bind(b=2, a=3)
        b2.info("x")
        b1.info("y")
        logger.info("z")
        assert [LINE.match(x).group(3) for x in out] == ["a=3 b=2", "a=1", None]

    def test_bound_levels(self):
        out = collect(level="DEBUG")
        b = logger.bind(k="v")
        for m in ("debug", "info", "warning", "error", "critical"):
            getattr(b, m)(m)
        assert [LINE.match(x).group(2).strip() for x in out] == [
            "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL",
        ]
        assert all(LINE.match(x).group(3) == "k=v" for x in out)

    def test_extras_in_text_use_str_in_merge_order(self):
        out = collect()

        class Obj:
            def __str__(self):
                return "OBJ"

        logger.bind(z=1).info("m", a=None, b=Obj(), c=[1, 2])
        assert LINE.match(out[0]).group(3) == "z=1 a=None b=OBJ c=[1, 2]"

    def test_interpolation_with_extras(self):
        out = collect()
        logger.bind(table="t").info("Inserted into '{table}' pk={pk}", pk=7)
        assert LINE.match(out[0]).group(4) == "Inserted into 't' pk=7"

    @pytest.mark.parametrize(
        "template",
        ["missing {nope}", "stray { brace", "stray } brace", "positional {}", "bad {k:Q}"],
    )
    def test_failed_interpolation_keeps_raw_template(self, template, capsys):
        out = collect()
        logger.info(template, k=1)
        assert LINE.match(out[0]).group(4) == template
        assert capsys.readouterr().err == ""  # no stdlib "Logging error"

    def test_no_extras_means_no_interpolation(self):
        out = collect()
        logger.info("literal {braces} {}")
        assert LINE.match(out[0]).group(4) == "literal {braces} {}"

    def test_extra_named_msg_or_self(self):
        out = collect(serialize=True)
        logger.info("{msg}/{self}", msg="a", self="b")
        logger.bind(msg=1).warning("x", self=2)
        r0, r1 = (json.loads(x) for x in out)
        assert r0["message"] == "a/b" and r0["extra"] == {"msg": "a", "self": "b"}
        assert r1["extra"] == {"msg": 1, "self": 2}

    def test_non_str_message(self):
        out = collect()
        logger.info(123)  # type: ignore[arg-type]
        assert LINE.match(out[0]).group(4) == "123"


# --------------------------------------------------------------------------------------
# §9.2 formats
# --------------------------------------------------------------------------------------


class TestFormats:
    def test_text_layout_with_and_without_extras(self):
        out = collect()
        logger.info("no extras")
        logger.info("with", a=1, b="x")
        assert re.match(r"^" + TS + r" \| INFO     \| no extras$", out[0]), out[0]
        assert re.match(r"^" + TS + r" \| INFO     \| a=1 b=x \| with$", out[1]), out[1]

    def test_text_time_is_local_now(self):
        out = collect()
        before = dt.datetime.now()
        logger.info("t")
        after = dt.datetime.now()
        stamp = dt.datetime.strptime(LINE.match(out[0]).group(1), "%Y-%m-%d %H:%M:%S.%f")
        assert before - dt.timedelta(milliseconds=1) <= stamp <= after

    def test_json_keys_and_values(self):
        out = collect(serialize=True)
        before = dt.datetime.now()
        logger.bind(component="X").warning("n={n}", n=5)
        after = dt.datetime.now()
        (line,) = out
        assert not line.endswith("\n")
        rec = json.loads(line)
        assert list(rec) == ["time", "level", "message", "extra"]
        assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$", rec["time"])
        assert before <= dt.datetime.fromisoformat(rec["time"]) <= after
        assert rec["level"] == "WARNING"
        assert rec["message"] == "n=5"
        assert rec["extra"] == {"component": "X", "n": 5}

    def test_json_without_extras(self):
        out = collect(serialize=True)
        logger.info("{kept}")
        rec = json.loads(out[0])
        assert rec["message"] == "{kept}" and rec["extra"] == {}

    def test_json_non_serialisable_extras_as_str(self):
        out = collect(serialize=True)

        class Obj:
            def __str__(self):
                return "OBJ!"

        logger.info("m", obj=Obj(), s={1}, d=dt.date(2024, 1, 2), ok=[1, "a", None], f=1.5)
        rec = json.loads(out[0])
        assert rec["extra"] == {
            "obj": "OBJ!", "s": "{1}", "d": "2024-01-02", "ok": [1, "a", None], "f": 1.5,
        }

    def test_json_circular_extra(self):
        out = collect(serialize=True)
        loop: list = []
        loop.append(loop)
        logger.info("m", loop=loop, fine=1)
        rec = json.loads(out[0])
        assert rec["extra"] == {"loop": "[[...]]", "fine": 1}

    def test_json_on_tty_stream_and_file(self, tmp_path):
        s = Stream(tty=True)
        logger.add(s, serialize=True)
        path = tmp_path / "j.log"
        logger.add(str(path), serialize=True)
        logger.error("e", k="v")
        assert ESC not in s.text and s.text.endswith("\n")
        a = json.loads(s.lines[0])
        b = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert a == b and a["level"] == "ERROR" and a["extra"] == {"k": "v"}


# --------------------------------------------------------------------------------------
# §9.1 no propagation; stdlib handling
# --------------------------------------------------------------------------------------


class _Catch(logging.Handler):
    def __init__(self, level=logging.DEBUG):
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


class TestStdlib:
    def test_root_handler_sees_nothing(self):
        root = logging.getLogger()
        h = _Catch()
        root.addHandler(h)
        old = root.level
        root.setLevel(logging.DEBUG)
        try:
            collect()
            logger.critical("with a sink")
            logger.remove()
            logger.critical("without a sink")
        finally:
            root.removeHandler(h)
            root.setLevel(old)
        assert h.records == []

    def test_no_last_resort_output(self, capsys):
        logger.remove()
        logger.critical("nowhere")
        logging.getLogger("dictdb").critical("nowhere either")
        cap = capsys.readouterr()
        assert cap.err == "" and cap.out == ""

    def test_handler_on_dictdb_logger_sees_records(self):
        h = _Catch()
        std = logging.getLogger("dictdb")
        std.addHandler(h)
        try:
            # no sink at all: the foreign handler must still get everything
            assert logger._enabled(logging.DEBUG)
            logger.bind(table="t").debug("q {table}", pk=1)
        finally:
            std.removeHandler(h)
        (rec,) = h.records
        assert rec.levelno == logging.DEBUG and rec.name == "dictdb"
        assert rec.getMessage() == "q t"
        assert rec.extra == {"table": "t", "pk": 1}
        assert not logger._enabled(logging.DEBUG)

    def test_stdlib_records_reach_sinks(self):
        out = collect()
        logging.getLogger("dictdb").warning("plain %s", "stdlib")
        assert LINE.match(out[0]).group(2, 4) == ("WARNING ", "plain stdlib")


# --------------------------------------------------------------------------------------
# §9.1 performance: the cheap level check of the internal API
# --------------------------------------------------------------------------------------


class TestFastPath:
    def test_enabled_tracks_sinks(self, monkeypatch):
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        assert not logger._enabled(logging.CRITICAL)
        logger.add(lambda _l: None, level="ERROR")
        assert not logger._enabled(logging.WARNING)
        assert logger._enabled(logging.ERROR) and logger._enabled(logging.CRITICAL)
        logger.add(lambda _l: None, level="INFO")
        assert logger._enabled(logging.INFO) and not logger._enabled(logging.DEBUG)
        logger.remove()
        assert not logger._enabled(logging.CRITICAL)
        configure_logging(level="WARNING")
        assert logger._enabled(logging.WARNING) and not logger._enabled(logging.INFO)
        configure_logging(level="WARNING", console=False)
        assert not logger._enabled(logging.CRITICAL)

    def test_bound_enabled(self):
        b = logger.bind(x=1)
        assert not b._enabled(logging.ERROR)
        logger.add(lambda _l: None, level="ERROR")
        assert b._enabled(logging.ERROR) and not b._enabled(logging.INFO)

    def test_disabled_records_build_nothing(self):
        logger.add(lambda _l: None, level="ERROR")

        class Loud:
            def __str__(self):
                raise AssertionError("str() of an extra below the level")

            __format__ = __repr__ = __str__

        logger.debug("{x}", x=Loud())
        logger.bind(x=Loud()).info("{x}")

    def test_internal_log(self):
        out = collect(serialize=True)
        logger._log(logging.INFO, "a {b}", {"b": 1})
        logger._log(logging.INFO, "a {b}", {"b": 1}, interpolate=False)
        logger.bind(c=2)._log(logging.ERROR, "z", {"d": 3})
        logger._log(logging.DEBUG, "no extras")
        recs = [json.loads(x) for x in out]
        assert [r["message"] for r in recs] == ["a 1", "a {b}", "z", "no extras"]
        assert recs[2]["extra"] == {"c": 2, "d": 3} and recs[2]["level"] == "ERROR"
        assert recs[3]["extra"] == {}

    def test_level_constants(self):
        assert (_logging.DEBUG, _logging.INFO, _logging.WARNING, _logging.ERROR,
                _logging.CRITICAL) == (10, 20, 30, 40, 50)


# --------------------------------------------------------------------------------------
# §9.3 configure_logging
# --------------------------------------------------------------------------------------


def debug_lines(text_lines):
    return [x for x in text_lines if "DEBUG" in x]


class TestConfigureLogging:
    def test_console_is_sys_stdout_at_call_time(self, capsys):
        configure_logging()
        logger.info("to stdout")
        logger.debug("hidden at INFO")
        cap = capsys.readouterr()
        lines = cap.out.splitlines()
        assert len(lines) == 1 and LINE.match(lines[0]).group(2, 4) == ("INFO    ", "to stdout")
        assert cap.err == ""

    def test_console_stream_replaced_after_call_not_followed(self, monkeypatch):
        first = io.StringIO()
        monkeypatch.setattr(sys, "stdout", first)
        configure_logging(level="INFO")
        second = io.StringIO()
        monkeypatch.setattr(sys, "stdout", second)
        logger.info("goes to first")
        assert "goes to first" in first.getvalue() and second.getvalue() == ""

    def test_removes_previous_sinks(self, monkeypatch):
        monkeypatch.setattr(sys, "stdout", io.StringIO())
        old = collect()
        configure_logging()
        logger.error("new only")
        assert old == []

    def test_announcement_record(self, monkeypatch, tmp_path):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        path = tmp_path / "f.log"
        configure_logging(level="DEBUG", logfile=str(path))
        for text in (out.getvalue(), path.read_text(encoding="utf-8")):
            (line,) = text.splitlines()
            m = LINE.match(line)
            assert m.group(2) == "DEBUG   " and m.group(3) == "component=configure_logging"

    def test_announcement_json(self, monkeypatch):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        configure_logging(level="debug", json=True)
        logger.info("after {x}", x=1)
        recs = [json.loads(x) for x in out.getvalue().splitlines()]
        assert [r["level"] for r in recs] == ["DEBUG", "INFO"]
        assert recs[0]["extra"] == {"component": "configure_logging"}
        assert recs[1]["message"] == "after 1" and list(recs[1]) == [
            "time", "level", "message", "extra",
        ]

    def test_announcement_hidden_at_info(self, monkeypatch):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        configure_logging()
        assert out.getvalue() == ""

    def test_no_console(self, capsys):
        configure_logging(console=False)
        logger.critical("nowhere")
        assert capsys.readouterr() == ("", "")

    def test_logfile_only(self, tmp_path, capsys):
        path = tmp_path / "only.log"
        configure_logging(level="WARNING", console=False, logfile=str(path))
        logger.info("i")
        logger.warning("w", k=1)
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 1 and LINE.match(lines[0]).group(2, 3, 4) == ("WARNING ", "k=1", "w")
        assert capsys.readouterr() == ("", "")

    def test_unknown_level_means_debug(self, monkeypatch):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        configure_logging(level="verbose")
        logger.debug("d")
        assert len(debug_lines(out.getvalue().splitlines())) == 2  # announcement + d

    def test_console_colour_follows_isatty(self, monkeypatch):
        tty = Stream(tty=True)
        monkeypatch.setattr(sys, "stdout", tty)
        configure_logging()
        logger.info("c")
        assert tty.lines[0].startswith("\033[32m")

    # -- sampling: the worked examples of §9.3 -------------------------------------------

    def test_sampling_n3_console_only(self, monkeypatch):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        configure_logging(level="DEBUG", sample_debug_every=3)
        for i in range(1, 6):
            logger.debug("d{i}", i=i)
        lines = out.getvalue().splitlines()
        assert len(lines) == 2
        # the announcement is DEBUG record 1; d2 and d5 are records 3 and 6
        assert [LINE.match(x).group(4) for x in lines] == ["d2", "d5"]

    def test_sampling_n2_file_only(self, tmp_path):
        path = tmp_path / "s.log"
        configure_logging(level="DEBUG", console=False, logfile=str(path), sample_debug_every=2)
        for i in range(1, 5):
            logger.debug("d{i}", i=i)
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 2
        assert [LINE.match(x).group(4) for x in lines] == ["d1", "d3"]

    def test_sampling_both_sinks_show_the_same_lines(self, monkeypatch, tmp_path):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        path = tmp_path / "both.log"
        configure_logging(level="DEBUG", logfile=str(path), sample_debug_every=2)
        for i in range(1, 5):
            logger.debug("d{i}", i=i)
        console = out.getvalue().splitlines()
        file = path.read_text(encoding="utf-8").splitlines()
        assert len(console) == 2
        assert console == file
        assert [LINE.match(x).group(4) for x in console] == ["d1", "d3"]

    def test_sampling_only_debug(self, monkeypatch):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        configure_logging(level="DEBUG", sample_debug_every=3)
        logger.debug("d1")  # DEBUG 2
        logger.info("i1")
        logger.warning("w1")
        logger.error("e1")
        logger.critical("c1")
        logger.debug("d2")  # DEBUG 3: passes
        assert [LINE.match(x).group(4) for x in out.getvalue().splitlines()] == [
            "i1", "w1", "e1", "c1", "d2",
        ]

    def test_sampling_counts_only_records_reaching_the_sink(self, monkeypatch):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        configure_logging(level="INFO", sample_debug_every=2)
        for _ in range(5):
            logger.debug("never")
        logger.info("i")
        assert [LINE.match(x).group(4) for x in out.getvalue().splitlines()] == ["i"]

    @pytest.mark.parametrize("n", [None, 0, 1, -3])
    def test_no_sampling_when_n_at_most_1(self, monkeypatch, n):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        configure_logging(level="DEBUG", sample_debug_every=n)
        for i in range(4):
            logger.debug("d")
        assert len(out.getvalue().splitlines()) == 5

    def test_each_configure_restarts_the_counters(self, monkeypatch):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        configure_logging(level="DEBUG", sample_debug_every=2)
        logger.debug("a")  # DEBUG 2: passes
        configure_logging(level="DEBUG", sample_debug_every=2)
        logger.debug("b")  # DEBUG 2 of the new sink: passes
        assert [LINE.match(x).group(4) for x in out.getvalue().splitlines()] == ["a", "b"]

"""The dictdb_rs logger and ``configure_logging`` (python-api.md §9).

``logger`` wraps the stdlib logger named ``"dictdb"`` (level DEBUG, ``propagate=False``).
Every record goes through that stdlib logger; the sinks added with :meth:`Logger.add` are
handlers on it, so a program that wants stdlib handling can add its own handler to
``logging.getLogger("dictdb")``. A permanent ``NullHandler`` keeps Python's last-resort
handler quiet after ``remove()``: each record reaches each sink at most once and nothing
else.

Internal API for library code
-----------------------------
Check the level before building anything, then emit with a prepared extras dict::

    from . import _logging

    _log = _logging.logger
    if _log._enabled(_logging.DEBUG):
        _log._log(_logging.DEBUG, f"[SELECT] Querying '{name}'",
                  {"component": "Table", "op": "select", "table": name},
                  interpolate=False)

``_enabled(levelno)`` is one integer comparison when a sink wants the level (and two
attribute reads when none does); ``_log(levelno, msg, extra=None, interpolate=True)``
skips the keyword-argument packing of the public methods, and with ``interpolate=False``
uses ``msg`` as the final text (no ``str.format``), for messages that already embed user
data. A bound logger (``logger.bind(...)``) has the same two methods. No lock of this
module is held while a sink runs: a sink may call back into the logger or the database.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json as _json
import logging
import os
import sys
import threading
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, TextIO

__all__ = ["logger", "configure_logging", "Logger", "BoundLogger"]

DEBUG = logging.DEBUG
INFO = logging.INFO
WARNING = logging.WARNING
ERROR = logging.ERROR
CRITICAL = logging.CRITICAL

_LEVELS: Dict[str, int] = {
    "DEBUG": DEBUG,
    "INFO": INFO,
    "WARNING": WARNING,
    "WARN": WARNING,
    "ERROR": ERROR,
    "CRITICAL": CRITICAL,
    "FATAL": CRITICAL,
}
_NAMES: Dict[int, str] = {
    DEBUG: "DEBUG",
    INFO: "INFO",
    WARNING: "WARNING",
    ERROR: "ERROR",
    CRITICAL: "CRITICAL",
}
_COLOURS: Dict[str, str] = {
    "DEBUG": "\033[36m",
    "INFO": "\033[32m",
    "WARNING": "\033[33m",
    "ERROR": "\033[31m",
    "CRITICAL": "\033[35m",
}
_GREEN = "\033[32m"
_RESET = "\033[0m"
_NEVER = sys.maxsize  # _min_level when no sink is left

_ids = itertools.count()  # handler ids, increasing across the process
_config_lock = threading.Lock()  # serialises add/remove; never held while a sink runs


def _level_no(level: Any) -> int:
    """A level name (case-insensitive) or number -> its number; unknown names mean DEBUG."""
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str):
        return _LEVELS.get(level.strip().upper(), DEBUG)
    return DEBUG


class Level(NamedTuple):
    """The ``rec["level"]`` a filter receives: ``name`` (e.g. ``"INFO"``) and ``no`` (20)."""

    name: str
    no: int


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        try:
            return repr(value)
        except Exception:
            return "<unprintable %s>" % type(value).__name__


def _record_parts(record: logging.LogRecord) -> tuple:
    """(datetime, level name, extras segment, message) of a record, computed once."""
    parts = record.__dict__.get("_dictdb_parts")
    if parts is None:
        when = _dt.datetime.fromtimestamp(record.created)
        extra = getattr(record, "extra", None)
        if isinstance(extra, Mapping) and extra:
            seg = " ".join("%s=%s" % (k, _safe_str(v)) for k, v in extra.items())
        else:
            seg = ""
        name = _NAMES.get(record.levelno) or record.levelname
        parts = (when, name, seg, record.getMessage())
        record._dictdb_parts = parts
    return parts


def _render_text(record: logging.LogRecord, colour: bool) -> str:
    when, name, seg, msg = _record_parts(record)
    stamp = when.strftime("%Y-%m-%d %H:%M:%S") + ".%03d" % (when.microsecond // 1000)
    lvl = name.ljust(8)
    if colour:
        c = _COLOURS.get(name, "")
        stamp = _GREEN + stamp + _RESET
        lvl = c + lvl + _RESET
        msg = c + msg + _RESET
    if seg:
        return "%s | %s | %s | %s" % (stamp, lvl, seg, msg)
    return "%s | %s | %s" % (stamp, lvl, msg)


def _render_json(record: logging.LogRecord) -> str:
    when, name, _seg, msg = _record_parts(record)
    extra = getattr(record, "extra", None)
    extra = dict(extra) if isinstance(extra, Mapping) else {}
    obj = {
        "time": when.isoformat(timespec="microseconds"),
        "level": name,
        "message": msg,
        "extra": extra,
    }
    try:
        return _json.dumps(obj, default=_safe_str)
    except Exception:  # e.g. a circular structure: str() every value that fails alone
        clean = {}
        for k, v in extra.items():
            try:
                _json.dumps(v)
                clean[_safe_str(k)] = v
            except Exception:
                clean[_safe_str(k)] = _safe_str(v)
        obj["extra"] = clean
        return _json.dumps(obj)


def _filter_view(record: logging.LogRecord) -> Dict[str, Any]:
    """The dict-like object filters receive (shared by every sink of one record)."""
    view = record.__dict__.get("_dictdb_view")
    if view is None:
        extra = getattr(record, "extra", None)
        if not isinstance(extra, dict):
            extra = {}
        name = _NAMES.get(record.levelno) or record.levelname
        template = getattr(record, "template", None)
        if template is None:
            template = record.getMessage()
        view = {
            "level": Level(name, record.levelno),
            "message": template,
            "extra": extra,
            "time": _dt.datetime.fromtimestamp(record.created),
            "name": record.name,
        }
        record._dictdb_view = view
    return view


class _Sink(logging.Handler):
    """One sink of :meth:`Logger.add`: a handler on the stdlib ``"dictdb"`` logger.

    ``handle`` is overridden so that no lock is held while the sink (user code) runs.
    """

    _dictdb_rs_sink = True

    def __init__(
        self,
        sink_id: int,
        levelno: int,
        write: Callable[[str], Any],
        flush: Optional[Callable[[], Any]],
        colour: bool,
        serialize: bool,
        user_filter: Optional[Callable[[Any], Any]],
        owned_file: Optional[TextIO] = None,
        newline: bool = True,
    ) -> None:
        super().__init__(levelno)
        self.sink_id = sink_id
        self._write = write
        self._flush = flush
        self._colour = colour
        self._serialize = serialize
        self._user_filter = user_filter
        self._file = owned_file
        self._newline = newline
        self._closed = False

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        if self._closed:
            return False
        if self.filters and not self.filter(record):
            return False
        try:
            f = self._user_filter
            if f is not None and not f(_filter_view(record)):
                return False
            if self._serialize:
                line = _render_json(record)
            else:
                line = _render_text(record, self._colour)
            if self._newline:
                line += "\n"
            self._write(line)
            if self._flush is not None:
                self._flush()
        except ValueError:
            if not self._closed:  # a write racing remove() on a closed file is dropped
                self.handleError(record)
        except Exception:
            self.handleError(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)

    def flush(self) -> None:
        if self._flush is not None and not self._closed:
            try:
                self._flush()
            except Exception:
                pass

    def close(self) -> None:
        self._closed = True
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except Exception:
                pass
        super().close()


class _Sampler:
    """Per-sink DEBUG sampling filter: passes the N-th, 2N-th, ... DEBUG record it sees."""

    def __init__(self, every: int) -> None:
        self._every = every
        self._count = itertools.count(1)  # next() is atomic in CPython

    def __call__(self, rec: Mapping[str, Any]) -> bool:
        if rec["level"].no != DEBUG:
            return True
        return next(self._count) % self._every == 0


class Logger:
    """The dictdb_rs logger: loguru-like sinks over the stdlib logger ``"dictdb"``."""

    def __init__(self, name: str = "dictdb") -> None:
        std = logging.getLogger(name)
        # A re-import (e.g. importlib.reload) must not leave our old sinks behind.
        for h in list(std.handlers):
            if getattr(h, "_dictdb_rs_sink", False) or getattr(h, "_dictdb_rs_null", False):
                std.removeHandler(h)
                h.close()
        std.setLevel(DEBUG)
        std.propagate = False
        null = logging.NullHandler()
        null._dictdb_rs_null = True  # type: ignore[attr-defined]
        std.addHandler(null)  # keeps the last-resort handler out, even with no sink
        self._std = std
        self._sinks: List[_Sink] = []
        self._n_own = 1  # our handlers on std: the null handler plus the sinks
        self._min_level = _NEVER

    # -- fast internal API -------------------------------------------------------------

    def _enabled(self, levelno: int) -> bool:
        """Whether a record at ``levelno`` can reach anything (cheap; check it first).

        True when some sink's level admits it, or when foreign stdlib handling is set up
        (a handler added to ``logging.getLogger("dictdb")`` directly, or propagation
        turned back on), which this module cannot see the levels of.
        """
        if levelno >= self._min_level:
            return True
        std = self._std
        return len(std.handlers) > self._n_own or std.propagate

    def _log(
        self,
        levelno: int,
        msg: Any,
        extra: Optional[Dict[str, Any]] = None,
        interpolate: bool = True,
    ) -> None:
        """Emit one record at ``levelno`` with the extras dict ``extra`` (not copied).

        With extras and ``interpolate`` the text is ``msg.format(**extra)``, or ``msg``
        whole if that fails; without, it is ``msg``.
        """
        if levelno < self._min_level:
            std = self._std
            if len(std.handlers) <= self._n_own and not std.propagate:
                return
        std = self._std
        if std.disabled or not std.isEnabledFor(levelno):
            return
        if type(msg) is not str:
            msg = _safe_str(msg)
        if extra is None:
            extra = {}
        text = msg
        if extra and interpolate:
            try:
                text = msg.format_map(extra)
            except Exception:
                text = msg
        record = std.makeRecord(std.name, levelno, "", 0, text, (), None)
        record.extra = extra
        record.template = msg
        std.handle(record)

    def _recompute(self) -> None:
        self._n_own = len(self._sinks) + 1
        self._min_level = min((s.level for s in self._sinks), default=_NEVER)

    # -- public API --------------------------------------------------------------------

    def add(
        self,
        sink: Any,
        *,
        level: Any = "DEBUG",
        format: Any = None,  # noqa: A002 - accepted and ignored (DictDB's signature)
        serialize: bool = False,
        filter: Optional[Callable[[Any], Any]] = None,  # noqa: A002
    ) -> int:
        """Add a sink and return its id (ids keep increasing across the process).

        ``sink``: a callable without a ``write`` attribute receives each formatted line
        as a ``str`` (no colour, no trailing newline); a ``str`` (or path-like) is a file
        path opened for appending; anything else is a stream with ``write``, coloured only
        if its ``isatty()`` is true. ``level``: a level name, case-insensitive, unknown
        names meaning DEBUG. ``format`` is ignored. ``serialize=True`` writes JSON lines
        (keys ``time``, ``level``, ``message``, ``extra``). ``filter(rec)`` receives a
        dict-like object with ``rec["level"].name``, ``rec["message"]`` (the raw template)
        and ``rec["extra"]``; a false result drops the record for this sink.
        """
        if filter is not None and not callable(filter):
            raise TypeError("filter must be a callable or None, not %r" % type(filter).__name__)
        levelno = _level_no(level)
        serialize = bool(serialize)
        owned = None
        colour = False
        newline = True
        flush: Optional[Callable[[], Any]] = None
        if isinstance(sink, (str, os.PathLike)):
            path = os.fspath(sink)
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            owned = open(path, "a", encoding="utf-8")
            write = owned.write
            flush = owned.flush
        elif callable(sink) and not hasattr(sink, "write"):
            write = sink
            newline = False
        elif hasattr(sink, "write"):
            write = sink.write
            flush = getattr(sink, "flush", None)
            if not callable(flush):
                flush = None
            try:
                colour = bool(sink.isatty())
            except Exception:
                colour = False
        else:
            raise TypeError("cannot log to a sink of type %r" % type(sink).__name__)
        handler = _Sink(
            next(_ids), levelno, write, flush, colour and not serialize, serialize,
            filter, owned, newline,
        )
        with _config_lock:
            self._sinks.append(handler)
            self._std.addHandler(handler)
            self._recompute()
        return handler.sink_id

    def remove(self) -> None:
        """Remove every sink, the default one included (files opened by ``add`` are closed)."""
        with _config_lock:
            sinks, self._sinks = self._sinks, []
            for h in sinks:
                self._std.removeHandler(h)
            self._recompute()
        for h in sinks:  # outside the lock: closing flushes, which may run user code
            h.close()

    def bind(self, /, **extra: Any) -> "BoundLogger":
        """A logger whose records carry ``extra``; call-time keywords merge over them."""
        return BoundLogger(self, extra)

    def debug(self, msg: str, /, **extra: Any) -> None:
        """Log ``msg`` at DEBUG; ``extra`` are the record's extras and format arguments."""
        if self._enabled(DEBUG):
            self._log(DEBUG, msg, extra)

    def info(self, msg: str, /, **extra: Any) -> None:
        """Log ``msg`` at INFO; ``extra`` are the record's extras and format arguments."""
        if self._enabled(INFO):
            self._log(INFO, msg, extra)

    def warning(self, msg: str, /, **extra: Any) -> None:
        """Log ``msg`` at WARNING; ``extra`` are the record's extras and format arguments."""
        if self._enabled(WARNING):
            self._log(WARNING, msg, extra)

    def error(self, msg: str, /, **extra: Any) -> None:
        """Log ``msg`` at ERROR; ``extra`` are the record's extras and format arguments."""
        if self._enabled(ERROR):
            self._log(ERROR, msg, extra)

    def critical(self, msg: str, /, **extra: Any) -> None:
        """Log ``msg`` at CRITICAL; ``extra`` are the record's extras and format arguments."""
        if self._enabled(CRITICAL):
            self._log(CRITICAL, msg, extra)

    def __repr__(self) -> str:
        return "<dictdb_rs logger: %d sink(s)>" % len(self._sinks)


class BoundLogger:
    """A logger with extras attached (from :meth:`Logger.bind`)."""

    __slots__ = ("_logger", "_extra")

    def __init__(self, parent: Logger, extra: Dict[str, Any]) -> None:
        self._logger = parent
        self._extra = dict(extra)

    def bind(self, /, **extra: Any) -> "BoundLogger":
        """A logger with these extras merged over the ones already bound."""
        return BoundLogger(self._logger, {**self._extra, **extra})

    def _enabled(self, levelno: int) -> bool:
        """Same as :meth:`Logger._enabled`."""
        return self._logger._enabled(levelno)

    def _log(
        self,
        levelno: int,
        msg: Any,
        extra: Optional[Dict[str, Any]] = None,
        interpolate: bool = True,
    ) -> None:
        """:meth:`Logger._log` with ``extra`` merged over the bound extras."""
        merged = {**self._extra, **extra} if extra else dict(self._extra)
        self._logger._log(levelno, msg, merged, interpolate)

    def debug(self, msg: str, /, **extra: Any) -> None:
        """Log ``msg`` at DEBUG with the bound extras, ``extra`` merged over them."""
        if self._logger._enabled(DEBUG):
            self._log(DEBUG, msg, extra)

    def info(self, msg: str, /, **extra: Any) -> None:
        """Log ``msg`` at INFO with the bound extras, ``extra`` merged over them."""
        if self._logger._enabled(INFO):
            self._log(INFO, msg, extra)

    def warning(self, msg: str, /, **extra: Any) -> None:
        """Log ``msg`` at WARNING with the bound extras, ``extra`` merged over them."""
        if self._logger._enabled(WARNING):
            self._log(WARNING, msg, extra)

    def error(self, msg: str, /, **extra: Any) -> None:
        """Log ``msg`` at ERROR with the bound extras, ``extra`` merged over them."""
        if self._logger._enabled(ERROR):
            self._log(ERROR, msg, extra)

    def critical(self, msg: str, /, **extra: Any) -> None:
        """Log ``msg`` at CRITICAL with the bound extras, ``extra`` merged over them."""
        if self._logger._enabled(CRITICAL):
            self._log(CRITICAL, msg, extra)

    def __repr__(self) -> str:
        return "<dictdb_rs bound logger %r>" % (self._extra,)


logger = Logger("dictdb")
"""The module-level logger (python-api.md §9.1)."""

_DEFAULT_STREAM = sys.stderr


def _add_default_sink() -> int:
    """Add the import-time default sink: ``sys.stderr`` (as it was at import) at WARNING."""
    return logger.add(_DEFAULT_STREAM, level="WARNING")


if _DEFAULT_STREAM is not None:  # pythonw and the like have no stderr
    _add_default_sink()


def configure_logging(
    level: str = "INFO",
    console: bool = True,
    logfile: Optional[str] = None,
    *,
    json: bool = False,
    sample_debug_every: Optional[int] = None,
) -> None:
    """Replace every sink with a console and/or file sink (python-api.md §9.3).

    Removes all sinks; adds ``sys.stdout`` (as it is now) if ``console`` and the file
    ``logfile`` if given, both at ``level``, as JSON lines if ``json``. With
    ``sample_debug_every`` N > 1, each sink keeps its own count of the DEBUG records that
    reach it and passes only the N-th, 2N-th, ...; other levels always pass. Finally logs
    one DEBUG record announcing the configuration [component=configure_logging], which
    counts for sampling.
    """
    logger.remove()
    sampling = sample_debug_every is not None and sample_debug_every > 1
    if console:
        logger.add(
            sys.stdout,
            level=level,
            serialize=json,
            filter=_Sampler(sample_debug_every) if sampling else None,  # type: ignore[arg-type]
        )
    if logfile:
        logger.add(
            logfile,
            level=level,
            serialize=json,
            filter=_Sampler(sample_debug_every) if sampling else None,  # type: ignore[arg-type]
        )
    if logger._enabled(DEBUG):
        logger._log(
            DEBUG,
            "Logger configured (level=%s, console=%s, logfile=%s, json=%s, "
            "sample_debug_every=%s)" % (level, console, logfile, json, sample_debug_every),
            {"component": "configure_logging"},
            interpolate=False,
        )

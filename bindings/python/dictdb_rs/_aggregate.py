"""Aggregations (python-api.md §8): `Count`, `Sum`, `Avg`, `Min`, `Max`.

Each is a description (function and field) that `Table.aggregate` hands to the
engine in one call; `compute(values)` runs the same engine code on a plain list.
"""

from . import _native

__all__ = ["Count", "Sum", "Avg", "Min", "Max"]


class Agg:
    """The base class of the five aggregates (not exported); only its
    instances are accepted by ``Table.aggregate``. ``field`` is the field
    aggregated (None for ``Count()``, which counts rows)."""

    _func = ""

    def __init__(self, field=None):
        self.field = field

    def compute(self, values):
        """The aggregate of a plain list of values."""
        func = "count_all" if self._func == "count" and self.field is None else self._func
        return _native.compute_aggregate(func, list(values))

    def _spec(self, name):
        return (name, self._func, self.field)

    def __repr__(self):
        field = "" if self.field is None else repr(self.field)
        return f"{type(self).__name__}({field})"


class Count(Agg):
    """``Count()``: the number of rows; ``Count(f)``: the number of non-None values."""

    _func = "count"

    def __init__(self, field=None):
        super().__init__(field)


class Sum(Agg):
    """The sum of the non-None values (ints exact, any float makes a float); None
    without values."""

    _func = "sum"

    def __init__(self, field):
        super().__init__(field)


class Avg(Agg):
    """The mean of the non-None values, always a float; None without values."""

    _func = "avg"

    def __init__(self, field):
        super().__init__(field)


class Min(Agg):
    """The smallest non-None value in the total order; None without values."""

    _func = "min"

    def __init__(self, field):
        super().__init__(field)


class Max(Agg):
    """The largest non-None value in the total order; None without values."""

    _func = "max"

    def __init__(self, field):
        super().__init__(field)


for _cls in (Agg, Count, Sum, Avg, Min, Max):
    _cls.__module__ = "dictdb_rs"

"""The query DSL (python-api.md §7): ``Field``, ``PredicateExpr``, ``Condition``,
``And``, ``Or``, ``Not``.

A predicate is a small tree of tuples (its ``_ir``, the format documented at the
top of ``bindings/src/dsl.rs``) whose constants were converted like stored values
when it was built. The engine runs it as one expression; ``pred(record)``
evaluates it on a single dict with exactly the engine's semantics
(``_native.eval_predicate``). A Python callable combined with ``&`` / ``|`` is a
``("py", callable)`` node. In table queries (select, update, delete, aggregate,
export_csv) the engine calls it on each row it tests, under the table's lock,
with a new dict of the row; ``bool()`` of its result decides, and an exception
it raises comes out of the query unchanged (update and delete then change
nothing). ``pred(record)`` evaluates such trees in Python around the native
parts. Both short-circuit like Python's ``and`` / ``or``: the callable is never
called on a row the left operand of its ``&`` rejects or the left operand of its
``|`` accepts. A bare callable is not a valid ``where=`` (python-api.md §4).
"""

from . import _native

__all__ = ["Field", "PredicateExpr", "Condition", "And", "Or", "Not"]

_PACKAGE = "dictdb_rs"

_dsl_value = _native.dsl_value
_new = object.__new__



def _const(value, field):
    """A predicate constant converted like a stored value (TypeError /
    OverflowError naming the field when it cannot be stored)."""
    return _native.dsl_value(value, field)


def _text(s, field, method):
    """The argument of an ``i*`` method: a plain ``str`` or AttributeError."""
    if not isinstance(s, str):
        raise AttributeError(
            f"{method}() on field '{field}' needs a str argument, "
            f"not {type(s).__name__} ({s!r})"
        )
    return _native.dsl_value(s, field)


def _needles(s, field, method):
    """The argument of ``startswith`` / ``endswith``: a str or a tuple of str,
    as a tuple of plain str."""
    if isinstance(s, str):
        return (_native.dsl_value(s, field),)
    if isinstance(s, tuple) and all(isinstance(x, str) for x in s):
        return tuple(_native.dsl_value(x, field) for x in s)
    raise TypeError(
        f"{method}() on field '{field}' takes a str or a tuple of str, "
        f"not {type(s).__name__} ({s!r})"
    )


class Field:
    """A field of a table, as returned by ``table.<name>``: its comparison
    operators and methods build ``PredicateExpr`` objects (python-api.md §7.1).

    ``name`` is the field's name. ``v`` below is ``record.get(name)``; a
    missing field reads as ``None``.
    Constants are converted like stored values when the predicate is built, so
    an unsupported constant raises ``TypeError`` at once.
    """

    __slots__ = ("name",)
    __module__ = _PACKAGE

    def __init__(self, name):
        """A field named ``name``."""
        if not isinstance(name, str):
            raise TypeError(f"a field name must be a str, not {type(name).__name__}")
        self.name = name

    def __repr__(self):
        return f"Field({self.name!r})"

    def __hash__(self):
        return hash((Field, self.name))

    def __bool__(self):
        return True

    def __reduce__(self):
        return (Field, (self.name,))

    # The six comparisons build their predicate inline: `t.id == k` runs once
    # per call of a one-row update or delete, where each Python call counts.

    def __eq__(self, other):
        """``v`` equals ``other`` (Python equality; ``== None`` also matches a
        missing field)."""
        name = self.name
        p = _new(PredicateExpr)
        p._ir = ("cmp", "==", name, _dsl_value(other, name))
        return p

    def __ne__(self, other):
        """The exact complement of ``==``."""
        name = self.name
        p = _new(PredicateExpr)
        p._ir = ("cmp", "!=", name, _dsl_value(other, name))
        return p

    def __lt__(self, other):
        """``v < other`` where the comparison is defined; false otherwise."""
        name = self.name
        p = _new(PredicateExpr)
        p._ir = ("cmp", "<", name, _dsl_value(other, name))
        return p

    def __le__(self, other):
        """``v <= other`` where the comparison is defined; false otherwise."""
        name = self.name
        p = _new(PredicateExpr)
        p._ir = ("cmp", "<=", name, _dsl_value(other, name))
        return p

    def __gt__(self, other):
        """``v > other`` where the comparison is defined; false otherwise."""
        name = self.name
        p = _new(PredicateExpr)
        p._ir = ("cmp", ">", name, _dsl_value(other, name))
        return p

    def __ge__(self, other):
        """``v >= other`` where the comparison is defined; false otherwise."""
        name = self.name
        p = _new(PredicateExpr)
        p._ir = ("cmp", ">=", name, _dsl_value(other, name))
        return p

    def is_in(self, values):
        """``v`` equals some member of ``values`` (any iterable, consumed now;
        members may be unhashable). A missing field matches a ``None`` member."""
        members = [_const(v, self.name) for v in values]
        return PredicateExpr._of(("in", self.name, members))

    def between(self, lo, hi):
        """``lo <= v <= hi`` (inclusive), both comparisons defined."""
        return PredicateExpr._of(
            ("between", self.name, _const(lo, self.name), _const(hi, self.name))
        )

    def contains(self, item):
        """Python's ``item in v`` (substring, list member, dict key, bytes);
        false for ``None``/missing and wherever Python would raise."""
        return PredicateExpr._of(("contains", self.name, _const(item, self.name)))

    def startswith(self, s):
        """``v`` is a ``str`` starting with ``s`` (a str or a tuple of str)."""
        return PredicateExpr._of(
            ("startswith", self.name, _needles(s, self.name, "startswith"))
        )

    def endswith(self, s):
        """``v`` is a ``str`` ending with ``s`` (a str or a tuple of str)."""
        return PredicateExpr._of(
            ("endswith", self.name, _needles(s, self.name, "endswith"))
        )

    def is_null(self):
        """``v is None`` (a missing field counts as null)."""
        return PredicateExpr._of(("isnull", self.name))

    def is_not_null(self):
        """The field is present and not ``None``."""
        return PredicateExpr._of(("notnull", self.name))

    def _like(self, method, pattern, escape, ignore_case):
        if not isinstance(pattern, str):
            raise TypeError(
                f"{method}() on field '{self.name}' needs a str pattern, "
                f"not {type(pattern).__name__}"
            )
        if escape is not None and not isinstance(escape, str):
            raise TypeError(
                f"{method}() on field '{self.name}': escape must be a str or None, "
                f"not {type(escape).__name__}"
            )
        pattern = _const(pattern, self.name)
        if escape is not None:
            escape = _const(escape, self.name)
        return PredicateExpr._of(("like", self.name, pattern, escape, ignore_case))

    def like(self, pattern, escape=None):
        """SQL LIKE on ``str`` values, case-sensitive, whole value: ``%`` any
        run of characters, ``_`` one character; ``escape`` (a one-character
        str) makes the next character literal."""
        return self._like("like", pattern, escape, False)

    def ilike(self, pattern, escape=None):
        """``like`` through the Unicode lowercase mapping of both sides."""
        return self._like("ilike", pattern, escape, True)

    def iequals(self, s):
        """``v`` is a ``str`` equal to ``s`` ignoring case (``str.lower()``)."""
        return PredicateExpr._of(("iequals", self.name, _text(s, self.name, "iequals")))

    def icontains(self, s):
        """``v`` is a ``str`` containing ``s`` ignoring case."""
        return PredicateExpr._of(
            ("icontains", self.name, _text(s, self.name, "icontains"))
        )

    def istartswith(self, s):
        """``v`` is a ``str`` starting with ``s`` ignoring case."""
        return PredicateExpr._of(
            ("istartswith", self.name, _text(s, self.name, "istartswith"))
        )

    def iendswith(self, s):
        """``v`` is a ``str`` ending with ``s`` ignoring case."""
        return PredicateExpr._of(
            ("iendswith", self.name, _text(s, self.name, "iendswith"))
        )


def _operand(x):
    """The tree of a right operand of ``&`` / ``|``: a PredicateExpr's, a
    Condition's, or a ``("py", x)`` node for any other callable; None when
    ``x`` is none of these."""
    if isinstance(x, (PredicateExpr, Condition)):
        return x._ir
    if callable(x):
        return ("py", x)
    return None


def _has_py(ir):
    tag = ir[0]
    if tag == "py":
        return True
    if tag in ("and", "or"):
        return _has_py(ir[1]) or _has_py(ir[2])
    if tag == "not":
        return _has_py(ir[1])
    return False


def _evaluate(ir, record):
    """A tree's truth on one record: natively where it holds no callable, in
    Python (short-circuit) around the callables otherwise."""
    if not _has_py(ir):
        return _native.eval_predicate(ir, record)
    tag = ir[0]
    if tag == "py":
        return bool(ir[1](_native.copy_record(record)))
    if tag == "and":
        return _evaluate(ir[1], record) and _evaluate(ir[2], record)
    if tag == "or":
        return _evaluate(ir[1], record) or _evaluate(ir[2], record)
    return not _evaluate(ir[1], record)  # "not"


def _render(ir):
    """A readable form of a tree, for reprs."""
    tag = ir[0]
    if tag == "cmp":
        return f"{ir[2]} {ir[1]} {ir[3]!r}"
    if tag == "in":
        return f"{ir[1]}.is_in({ir[2]!r})"
    if tag == "between":
        return f"{ir[1]}.between({ir[2]!r}, {ir[3]!r})"
    if tag in ("startswith", "endswith"):
        arg = ir[2][0] if len(ir[2]) == 1 else ir[2]
        return f"{ir[1]}.{tag}({arg!r})"
    if tag in ("contains", "iequals", "icontains", "istartswith", "iendswith"):
        return f"{ir[1]}.{tag}({ir[2]!r})"
    if tag == "isnull":
        return f"{ir[1]}.is_null()"
    if tag == "notnull":
        return f"{ir[1]}.is_not_null()"
    if tag == "like":
        name = "ilike" if ir[4] else "like"
        esc = "" if ir[3] is None else f", escape={ir[3]!r}"
        return f"{ir[1]}.{name}({ir[2]!r}{esc})"
    if tag in ("and", "or"):
        sym = "&" if tag == "and" else "|"
        return f"({_render(ir[1])} {sym} {_render(ir[2])})"
    if tag == "not":
        return f"~{_render(ir[1])}"
    if tag == "py":
        return repr(ir[1])
    return repr(ir)


def _top(ir):
    """``_render`` without the outermost parentheses."""
    text = _render(ir)
    return text[1:-1] if ir[0] in ("and", "or") else text


class PredicateExpr:
    """A predicate built from ``Field`` operators (python-api.md §7.3).

    ``pred(record)`` tells whether a query would select ``record`` (a plain
    dict). ``&``, ``|`` and ``~`` build new predicates; the right operand may be
    a ``PredicateExpr``, a ``Condition`` or any Python callable taking a record.
    ``bool(pred)`` raises ``TypeError``, so ``a and b``, ``if t.x == 1:`` and
    chained comparisons fail loudly.
    """

    __slots__ = ("_ir",)
    __module__ = _PACKAGE

    def __init__(self, ir):
        """A predicate over the tree ``ir`` (as built by ``Field``)."""
        if not isinstance(ir, tuple) or not ir or not isinstance(ir[0], str):
            raise TypeError(
                "PredicateExpr is built by Field operators (table.<field> == value, …)"
            )
        self._ir = ir

    @classmethod
    def _of(cls, ir):
        p = object.__new__(cls)
        p._ir = ir
        return p

    def __reduce__(self):
        return (PredicateExpr, (self._ir,))

    def __call__(self, record):
        """Whether ``record`` satisfies the predicate (exactly True or False)."""
        return _evaluate(self._ir, record)

    def __and__(self, other):
        """Both predicates (``other`` evaluated only if this one holds)."""
        ir = _operand(other)
        if ir is None:
            return NotImplemented
        return PredicateExpr._of(("and", self._ir, ir))

    def __or__(self, other):
        """Either predicate (``other`` evaluated only if this one fails)."""
        ir = _operand(other)
        if ir is None:
            return NotImplemented
        return PredicateExpr._of(("or", self._ir, ir))

    def __invert__(self):
        """The negation (two-valued: true wherever this predicate is not)."""
        return PredicateExpr._of(("not", self._ir))

    def __bool__(self):
        raise TypeError(
            "a PredicateExpr has no truth value: combine predicates with &, |, ~ "
            "(not and/or/not), pass it as where=, or call it on a record"
        )

    def __repr__(self):
        return f"PredicateExpr({_top(self._ir)})"


class Condition:
    """A ``PredicateExpr`` wrapped for use as ``where=`` (python-api.md §7.4).

    ``condition`` is the wrapped predicate. Wrapping is optional (``where=``
    also takes a bare ``PredicateExpr``). A Condition is callable like its
    predicate, always truthy, and ``&``, ``|``, ``~`` on it build Conditions.
    """

    __slots__ = ("condition",)
    __module__ = _PACKAGE

    def __init__(self, condition):
        """Wraps ``condition``, which must be a ``PredicateExpr`` (anything
        else, another Condition included, raises ``TypeError``)."""
        if not isinstance(condition, PredicateExpr):
            raise TypeError(
                "Argument 'condition' must be a PredicateExpr "
                "(e.g., Condition(Table.field == value)), "
                f"not {type(condition).__name__}"
            )
        self.condition = condition

    @property
    def _ir(self):
        return self.condition._ir

    def __reduce__(self):
        return (Condition, (self.condition,))

    def __call__(self, record):
        """Whether ``record`` satisfies the condition."""
        return self.condition(record)

    def __and__(self, other):
        """Both conditions, as a Condition."""
        ir = _operand(other)
        if ir is None:
            return NotImplemented
        return Condition(PredicateExpr._of(("and", self._ir, ir)))

    def __or__(self, other):
        """Either condition, as a Condition."""
        ir = _operand(other)
        if ir is None:
            return NotImplemented
        return Condition(PredicateExpr._of(("or", self._ir, ir)))

    def __invert__(self):
        """The negation, as a Condition."""
        return Condition(~self.condition)

    def __repr__(self):
        return f"Condition({_top(self._ir)})"


def _predicate(op):
    """An operand of And / Or / Not as a PredicateExpr."""
    if isinstance(op, PredicateExpr):
        return op
    if isinstance(op, Condition):
        return op.condition
    raise TypeError(f"Expected PredicateExpr or Condition, got {type(op).__name__}")


def _fold(name, tag, ops):
    if len(ops) < 2:
        raise ValueError(f"{name}() requires at least 2 operands, got {len(ops)}")
    preds = [_predicate(op) for op in ops]
    ir = preds[0]._ir
    for p in preds[1:]:
        ir = (tag, ir, p._ir)
    return PredicateExpr._of(ir)


def And(*operands):
    """The conjunction of two or more ``PredicateExpr`` / ``Condition``
    operands, folding left with ``&``; returns a ``PredicateExpr``."""
    return _fold("And", "and", operands)


def Or(*operands):
    """The disjunction of two or more ``PredicateExpr`` / ``Condition``
    operands, folding left with ``|``; returns a ``PredicateExpr``."""
    return _fold("Or", "or", operands)


def Not(operand):
    """The negation of a ``PredicateExpr`` or ``Condition``; returns a
    ``PredicateExpr``."""
    return ~_predicate(operand)


for _f in (And, Or, Not):
    _f.__module__ = _PACKAGE
del _f


def _where_tree(where):
    """The predicate tree of a ``where=`` argument for ``TableCore``: ``None``
    for ``None``; the tree of a ``Condition`` or ``PredicateExpr``; anything
    else raises ``TypeError``."""
    if where is None:
        return None
    if isinstance(where, (PredicateExpr, Condition)):
        return where._ir
    raise TypeError(
        f"where must be a Condition or PredicateExpr, not {type(where).__name__}"
    )

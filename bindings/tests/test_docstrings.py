"""Every public name of dictdb_rs has a docstring (python-api.md §2).

Public names: everything in ``dictdb_rs.__all__``; ``Field``, ``PredicateExpr``,
``HashIndex``, ``SortedIndex``; the public modules and their ``__all__``; the
classes of public objects (``logger``, bound loggers, ``table.records``, the
aggregates' base class); and every public method and property of each of
these classes. Attributes without a docstring of their own (instance
attributes, slots, typing aliases, ``__version__``) must be described by the
docstring of their class or module instead; which attributes a class has is
read from its stub (``.pyi``), so the stubs and the documentation stay in step.
"""

import ast
import importlib
import inspect
import pathlib
import re

import pytest

import dictdb_rs
from dictdb_rs import Table

PUBLIC_MODULES = [
    "dictdb_rs",
    "dictdb_rs.exceptions",
    "dictdb_rs.core",
    "dictdb_rs.core.types",
    "dictdb_rs.storage",
    "dictdb_rs.storage.persist",
]

EXTRA_NAMES = ["Field", "PredicateExpr", "HashIndex", "SortedIndex"]


def _doc(obj):
    """The object's own docstring (not one inherited from a builtin base)."""
    if isinstance(obj, type):
        doc = obj.__dict__.get("__doc__")
    else:
        doc = getattr(obj, "__doc__", None)
    return (doc or "").strip()


def _mentions(doc, name):
    """Whether ``doc`` names ``name`` as code: in backquotes, possibly after
    a dotted prefix, as in ``tables`` or ``db.tables``."""
    return re.search(rf"`+(?:[\w.]+\.)?{re.escape(name)}(?!\w)", doc) is not None


def _says_something(doc):
    """A docstring that is more than a restated name: at least three words."""
    return len(re.findall(r"\w+", doc)) >= 3


def _public_classes():
    classes = {}
    for name in [*dictdb_rs.__all__, *EXTRA_NAMES]:
        obj = getattr(dictdb_rs, name)
        if isinstance(obj, type):
            classes[obj] = f"dictdb_rs.{name}"
    for modname in PUBLIC_MODULES:
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if isinstance(obj, type) and obj.__module__.startswith("dictdb_rs"):
                classes.setdefault(obj, f"{modname}.{name}")
    # Classes of objects the public API hands out.
    reachable = {
        "type(dictdb_rs.logger)": type(dictdb_rs.logger),
        "type(dictdb_rs.logger.bind())": type(dictdb_rs.logger.bind()),
        "type(table.records)": type(Table("t").records),
    }
    for label, cls in reachable.items():
        classes.setdefault(cls, label)
    # Base classes defined by the package (e.g. the aggregates' Agg).
    for cls in list(classes):
        for base in cls.__mro__[1:]:
            if base.__module__.startswith("dictdb_rs"):
                classes.setdefault(base, f"{base.__module__}.{base.__qualname__}")
    return classes


CLASSES = _public_classes()


def _members():
    """(label, class, name, object) for each public method or property the
    package defines on a public class (inherited ones included)."""
    out = []
    for cls, label in CLASSES.items():
        seen = set()
        for klass in cls.__mro__:
            if not klass.__module__.startswith("dictdb_rs"):
                continue
            for name, value in vars(klass).items():
                if name.startswith("_") or name in seen:
                    continue
                seen.add(name)
                out.append((f"{label}.{name}", cls, name, value))
    return out


MEMBERS = _members()


def _stub_classes():
    """Class name -> its ``ast.ClassDef`` in the package's stubs. (Classes are
    re-homed to ``dictdb_rs`` for pickling, so ``__module__`` does not say
    which stub defines them; class names are unique across the package.)"""
    pkg = pathlib.Path(dictdb_rs.__file__).parent
    found = {}
    for stub in sorted(pkg.rglob("*.pyi")):
        tree = ast.parse(stub.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                found.setdefault(node.name, node)
    return found


def _stub_attributes():
    """(label, class, attribute) for each public attribute a stub declares on
    a public class (``name: type`` in the class body)."""
    stubs = _stub_classes()
    out = []
    for cls, label in CLASSES.items():
        node = stubs.get(cls.__name__)
        assert node is not None, f"{label}: no stub declares class {cls.__name__}"
        for item in node.body:
            if (
                isinstance(item, ast.AnnAssign)
                and isinstance(item.target, ast.Name)
                and not item.target.id.startswith("_")
            ):
                out.append((f"{label}.{item.target.id}", cls, item.target.id))
    return out


@pytest.mark.parametrize("modname", PUBLIC_MODULES)
def test_public_module_has_docstring(modname):
    mod = importlib.import_module(modname)
    assert _says_something(_doc(mod)), f"module {modname} has no docstring"


@pytest.mark.parametrize("modname", PUBLIC_MODULES)
def test_module_all_names_documented(modname):
    mod = importlib.import_module(modname)
    missing = []
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            ok = _says_something(_doc(obj))
        elif isinstance(obj, (str, int, float)) or not obj.__class__.__module__.startswith(
            "dictdb_rs"
        ):
            # Plain data (``__version__``) and typing aliases (``Record``) cannot
            # carry a docstring: the module's docstring describes them.
            ok = _mentions(_doc(mod), name)
        else:
            # An instance of a package class (``logger``): its class's docstring.
            ok = _says_something(_doc(type(obj)))
        if not ok:
            missing.append(name)
    assert not missing, f"{modname}: undocumented public names {missing}"


def test_extra_public_names_documented():
    missing = [n for n in EXTRA_NAMES if not _says_something(_doc(getattr(dictdb_rs, n)))]
    assert not missing, missing


@pytest.mark.parametrize("cls", list(CLASSES), ids=[label for label in CLASSES.values()])
def test_public_class_has_docstring(cls):
    assert _says_something(_doc(cls)), f"{CLASSES[cls]} has no docstring"


@pytest.mark.parametrize(
    "label, cls, name, value", MEMBERS, ids=[m[0] for m in MEMBERS]
)
def test_public_member_has_docstring(label, cls, name, value):
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if inspect.isroutine(value) or isinstance(value, property):
        assert _says_something(_doc(value)), f"{label} has no docstring"
    else:
        # A slot or a class-level value: its class's docstring describes it.
        docs = " ".join(_doc(k) for k in cls.__mro__ if k.__module__.startswith("dictdb_rs"))
        assert _mentions(docs, name), (
            f"{label} is not described by the docstring of {CLASSES[cls]}"
        )


STUB_ATTRIBUTES = _stub_attributes()


@pytest.mark.parametrize(
    "label, cls, name", STUB_ATTRIBUTES, ids=[a[0] for a in STUB_ATTRIBUTES]
)
def test_public_attribute_is_described(label, cls, name):
    """A public attribute (``table.table_name``, ``manager.backup_dir``, …) is
    described by its own docstring (a property) or by its class's docstring."""
    runtime = inspect.getattr_static(cls, name, None)
    if isinstance(runtime, property) and _says_something(_doc(runtime)):
        return
    docs = " ".join(_doc(k) for k in cls.__mro__ if k.__module__.startswith("dictdb_rs"))
    assert _mentions(docs, name), (
        f"{label} is described neither by a property docstring nor by the class docstring"
    )


def test_the_walk_covers_the_api():
    """Sanity check of the walk itself: the classes and members it must see."""
    names = {c.__name__ for c in CLASSES}
    assert {
        "DictDB", "Table", "Condition", "Field", "PredicateExpr", "HashIndex",
        "SortedIndex", "Count", "Agg", "Logger", "BoundLogger", "RecordsView",
        "BackupManager", "DictDBError", "SQLError",
    } <= names, names
    labels = {m[0] for m in MEMBERS}
    assert {"dictdb_rs.Table.select", "dictdb_rs.DictDB.load", "dictdb_rs.Field.is_in"} <= labels
    attributes = {a[0] for a in STUB_ATTRIBUTES}
    assert {"dictdb_rs.Table.table_name", "dictdb_rs.DictDB.tables"} <= attributes

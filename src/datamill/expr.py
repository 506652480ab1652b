"""A safe expression language over record fields (used by ``filter``).

Expressions are written in Python syntax but never run by Python: :func:`compile_expr` parses them with
``ast.parse(mode="eval")`` and turns a whitelist of nodes into a tree of closures, once, at recipe
load time. Anything else is a :class:`~datamill.errors.RecipeError` naming the construct and its
column, so a recipe cannot reach ``__import__``, attributes of Python objects, files or the network.

What an expression may contain:

* literals: strings, numbers, ``True``/``False``/``None``, and lists, tuples or sets of expressions;
* field paths: ``category``, ``meta.task_type``, ``scores.quality``, ``meta["task type"]``,
  ``messages[-1].role`` (read with :func:`datamill.records.get_field`, so a bare name that is not a
  canonical field falls back to ``meta``); a missing field reads as ``None``;
* the record parts ``prompt``, ``answer``, ``conversation``, ``text`` and ``reasoning`` as strings;
* comparisons ``== != < <= > >= in not in`` (chained like Python), ``x is None``, ``x is not None``;
* ``and``, ``or``, ``not``, ``a if cond else b``; arithmetic ``+ - * / // %`` and unary ``-``/``+``;
* the functions in :data:`FUNCTIONS`: ``len lower upper strip contains startswith endswith matches
  int float str abs min max exists``. ``matches(s, "regex")`` searches (``re.search``) and needs a
  constant pattern (compiled once); ``exists(path)`` is true when the field is present, even if null.

An error while evaluating one record (``"a" < 1``, ``len(None)``, ``int("x")``) raises
:class:`ExprEvalError`; the ``filter`` step turns it into a drop with reason ``expr_error``.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from datamill.errors import RecipeError
from datamill.records import get_field, part_text

Evaluator = Callable[[Mapping[str, Any]], Any]

#: Record parts readable as variables; each is a string (``""`` when the record has no such part).
PART_VARIABLES: frozenset[str] = frozenset({"prompt", "answer", "conversation", "text", "reasoning"})
#: Functions an expression may call, with their arity (min, max; ``None``: any number).
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "len": (1, 1), "lower": (1, 1), "upper": (1, 1), "strip": (1, 1), "contains": (2, 2),
    "startswith": (2, 2), "endswith": (2, 2), "matches": (2, 2), "int": (1, 1), "float": (1, 1),
    "str": (1, 1), "abs": (1, 1), "min": (1, None), "max": (1, None), "exists": (1, 1),
}
#: Longest expression accepted, and longest string or list that ``*`` may build.
MAX_SOURCE_CHARS = 10_000
MAX_REPEAT = 1_000_000

_MISSING = object()
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is None, ast.IsNot: lambda a, b: a is not None,
}
_NAMES = {
    ast.Lambda: "lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
    ast.Dict: "a dict literal", ast.JoinedStr: "an f-string", ast.NamedExpr: "':='",
    ast.Starred: "'*' unpacking", ast.Slice: "a slice", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield", ast.Pow: "'**'", ast.BitAnd: "'&'", ast.BitOr: "'|'", ast.BitXor: "'^'",
    ast.LShift: "'<<'", ast.RShift: "'>>'", ast.MatMult: "'@'", ast.Invert: "'~'",
}


class ExprEvalError(Exception):
    """Evaluating an expression on one record failed; the message says why (not a recipe error)."""


class Expr:
    """A compiled expression: call it with a record. Pickles as its source and recompiles on load."""

    __slots__ = ("_fn", "source")

    def __init__(self, source: str, fn: Evaluator) -> None:
        self.source = source
        self._fn = fn

    def __call__(self, record: Mapping[str, Any]) -> Any:
        try:
            return self._fn(record)
        except Exception as exc:
            raise ExprEvalError(f"{type(exc).__name__}: {exc}") from exc

    def __reduce__(self) -> tuple[Callable[[str], Expr], tuple[str]]:
        return compile_expr, (self.source,)

    def __repr__(self) -> str:
        return f"Expr({self.source!r})"


def compile_expr(source: str) -> Expr:
    """Parse and check ``source`` once; raise :class:`RecipeError` for anything outside the whitelist."""
    if not isinstance(source, str) or not source.strip():
        raise RecipeError("the expression is empty", hint="e.g. len(answer) > 10")
    if len(source) > MAX_SOURCE_CHARS:
        raise RecipeError(f"the expression is longer than {MAX_SOURCE_CHARS} characters")
    flat = " ".join(source.split("\n")).strip()  # YAML block scalars: columns refer to this one line
    try:
        tree = ast.parse(flat, mode="eval")
        fn = _Compiler(flat).compile(tree.body)
    except SyntaxError as exc:
        where = f"column {exc.offset or 0}: {exc.msg}"
        raise RecipeError(f"invalid expression syntax at {where}: {flat!r}") from None
    except (RecursionError, MemoryError):
        raise RecipeError("the expression is nested too deeply") from None
    return Expr(source, fn)


def _type_name(value: Any) -> str:
    return "None (missing field?)" if value is None else type(value).__name__


def _need_str(value: Any, fn: str) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"{fn}() expects a string, got {_type_name(value)}")


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return _need_str(item, "contains") in container
    if isinstance(container, list | tuple | set | frozenset | Mapping):
        return item in container
    raise TypeError(f"contains() expects a string, list or mapping, got {_type_name(container)}")


def _mul(a: Any, b: Any) -> Any:
    for seq, times in ((a, b), (b, a)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_REPEAT:
            raise ValueError(f"'*' would build a sequence longer than {MAX_REPEAT}")
    return a * b


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        raise TypeError("'%' works on numbers only (no string formatting)")
    return a % b


_SIMPLE: dict[str, Callable[..., Any]] = {
    "len": len, "int": int, "float": float, "str": str, "abs": abs, "min": min, "max": max,
    "lower": lambda s: _need_str(s, "lower").lower(),
    "upper": lambda s: _need_str(s, "upper").upper(),
    "strip": lambda s: _need_str(s, "strip").strip(),
    "contains": _contains,
    "startswith": lambda s, p: _need_str(s, "startswith").startswith(_need_str(p, "startswith")),
    "endswith": lambda s, p: _need_str(s, "endswith").endswith(_need_str(p, "endswith")),
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: _mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: _mod,
}


def _walk(node: Any, keys: Sequence[str | int]) -> Any:
    """Follow ``keys`` from ``node`` through mappings and lists; ``_MISSING`` when a step is absent."""
    for key in keys:
        if isinstance(node, Mapping):
            if key in node:
                node = node[key]
            elif isinstance(key, int) and str(key) in node:
                node = node[str(key)]
            else:
                return _MISSING
        elif isinstance(node, list | tuple) and isinstance(key, int) and -len(node) <= key < len(node):
            node = node[key]
        else:
            return _MISSING
    return node


def _path_reader(keys: list[str | int]) -> Callable[[Mapping[str, Any]], Any]:
    """A function returning the value at a field path, or ``_MISSING``."""
    head, rest = str(keys[0]), keys[1:]
    if not rest:
        return lambda r: get_field(r, head, _MISSING)
    if all(isinstance(k, str) and "." not in k for k in rest):
        dotted = ".".join([head, *map(str, rest)])
        return lambda r: get_field(r, dotted, _MISSING)
    return lambda r: _walk(get_field(r, head, _MISSING), rest)


class _Compiler:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, node: ast.AST, what: str, hint: str | None = None) -> RecipeError:
        col = getattr(node, "col_offset", 0) + 1
        segment = ast.get_source_segment(self.source, node) or self.source
        return RecipeError(f"{what} is not allowed in expressions (column {col}: {segment!r})", hint=hint)

    def compile(self, node: ast.expr) -> Evaluator:
        handler = getattr(self, f"_{type(node).__name__}", None)
        if handler is None:
            raise self.error(node, _NAMES.get(type(node), type(node).__name__))
        fn: Evaluator = handler(node)
        return fn

    # -- literals and names -------------------------------------------------------------------
    def _Constant(self, node: ast.Constant) -> Evaluator:
        value = node.value
        if value is not None and not isinstance(value, str | int | float):
            raise self.error(node, f"a {type(value).__name__} literal")
        return lambda r: value

    def _List(self, node: ast.List) -> Evaluator:
        items = [self.compile(e) for e in node.elts]
        return lambda r: [f(r) for f in items]

    def _Tuple(self, node: ast.Tuple) -> Evaluator:
        items = [self.compile(e) for e in node.elts]
        return lambda r: tuple(f(r) for f in items)

    def _Set(self, node: ast.Set) -> Evaluator:
        items = [self.compile(e) for e in node.elts]
        return lambda r: {f(r) for f in items}

    def _Name(self, node: ast.Name) -> Evaluator:
        name = node.id
        if name.startswith("__"):
            raise self.error(node, f"the name '{name}'")
        if name in FUNCTIONS:
            raise self.error(node, f"the function '{name}' without a call", hint=f"write {name}(...)")
        if name in PART_VARIABLES:
            return lambda r: part_text(r, name)
        read = _path_reader([name])
        return lambda r: None if (v := read(r)) is _MISSING else v

    def _Attribute(self, node: ast.Attribute) -> Evaluator:
        return self._field(node)

    def _Subscript(self, node: ast.Subscript) -> Evaluator:
        return self._field(node)

    def _field(self, node: ast.expr) -> Evaluator:
        read = _path_reader(self.path(node))
        return lambda r: None if (v := read(r)) is _MISSING else v

    def path(self, node: ast.expr) -> list[str | int]:
        """The keys of a field path (``meta.a["b"][0]``) or a RecipeError saying what is wrong."""
        if isinstance(node, ast.Name):
            if node.id.startswith("__"):
                raise self.error(node, f"the name '{node.id}'")
            if node.id in PART_VARIABLES or node.id in FUNCTIONS:
                raise self.error(node, f"'.' or '[]' on '{node.id}' (not a field)",
                                 hint="only field paths like meta.task_type can use '.' and '[]'")
            return [node.id]
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("__"):
                raise self.error(node, f"the attribute '{node.attr}'")
            if not isinstance(node.value, ast.Name | ast.Attribute | ast.Subscript):
                raise self.error(node, "attribute access on a value", hint="only field paths like "
                                 "meta.task_type can use '.'; write lower(x), not x.lower()")
            return [*self.path(node.value), node.attr]
        if isinstance(node, ast.Subscript):
            key = self.constant_key(node.slice)
            if not isinstance(node.value, ast.Name | ast.Attribute | ast.Subscript):
                raise self.error(node, "'[]' on a value", hint="only field paths can use '[]'")
            return [*self.path(node.value), key]
        raise self.error(node, "this expression as a field path", hint="write a field path like meta.source")

    def constant_key(self, node: ast.expr) -> str | int:
        value = node.value if isinstance(node, ast.Constant) else None
        if isinstance(value, str | int) and not isinstance(value, bool):
            return value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            operand = node.operand
            if isinstance(operand, ast.Constant) and type(operand.value) is int:
                return -operand.value
        raise self.error(node, "a subscript that is not a constant string or integer")

    # -- operators ------------------------------------------------------------------------------
    def _BoolOp(self, node: ast.BoolOp) -> Evaluator:
        parts = [self.compile(v) for v in node.values]
        if isinstance(node.op, ast.And):
            def and_(r: Mapping[str, Any]) -> Any:
                value = None
                for f in parts:
                    value = f(r)
                    if not value:
                        return value
                return value
            return and_

        def or_(r: Mapping[str, Any]) -> Any:
            value = None
            for f in parts:
                value = f(r)
                if value:
                    return value
            return value
        return or_

    def _UnaryOp(self, node: ast.UnaryOp) -> Evaluator:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda r: not operand(r)
        if isinstance(node.op, ast.USub):
            return lambda r: -operand(r)
        if isinstance(node.op, ast.UAdd):
            return lambda r: +operand(r)
        raise self.error(node, _NAMES.get(type(node.op), type(node.op).__name__))

    def _BinOp(self, node: ast.BinOp) -> Evaluator:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise self.error(node, _NAMES.get(type(node.op), type(node.op).__name__))
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda r: op(left(r), right(r))

    def _IfExp(self, node: ast.IfExp) -> Evaluator:
        test, body, orelse = self.compile(node.test), self.compile(node.body), self.compile(node.orelse)
        return lambda r: body(r) if test(r) else orelse(r)

    def _Compare(self, node: ast.Compare) -> Evaluator:
        left = self.compile(node.left)
        steps: list[tuple[Callable[[Any, Any], Any], Evaluator]] = []
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.Is | ast.IsNot) and not (
                isinstance(comparator, ast.Constant) and comparator.value is None
            ):
                raise self.error(node, "'is' with anything but None", hint="use == to compare values")
            steps.append((_COMPARE[type(op)], self.compile(comparator)))
        if len(steps) == 1:
            (op1, right), = steps
            return lambda r: op1(left(r), right(r))

        def chain(r: Mapping[str, Any]) -> Any:
            a = left(r)
            for op_fn, f in steps:
                b = f(r)
                if not op_fn(a, b):
                    return False
                a = b
            return True
        return chain

    # -- calls ------------------------------------------------------------------------------------
    def _Call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name):
            raise self.error(node, "calling anything but a function name",
                             hint=f"functions: {', '.join(sorted(FUNCTIONS))}")
        name = node.func.id
        if name not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise self.error(node, f"the function '{name}'", hint=f"functions: {known}")
        if node.keywords:
            raise self.error(node, "keyword arguments")
        low, high = FUNCTIONS[name]
        n = len(node.args)
        if n < low or (high is not None and n > high):
            want = str(low) if low == high else f"at least {low}"
            raise self.error(node, f"{name}() with {n} argument(s) (it takes {want})")
        if name == "exists":
            return self._exists(node.args[0])
        if name == "matches":
            return self._matches(node)
        args = [self.compile(a) for a in node.args]
        fn = _SIMPLE[name]
        if n == 1:
            arg, = args
            return lambda r: fn(arg(r))
        if n == 2:
            a0, a1 = args
            return lambda r: fn(a0(r), a1(r))
        return lambda r: fn(*[a(r) for a in args])

    def _exists(self, arg: ast.expr) -> Evaluator:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            dotted = arg.value
            return lambda r: get_field(r, dotted, _MISSING) is not _MISSING
        read = _path_reader(self.path(arg))
        return lambda r: read(r) is not _MISSING

    def _matches(self, node: ast.Call) -> Evaluator:
        pattern_node = node.args[1]
        if not (isinstance(pattern_node, ast.Constant) and isinstance(pattern_node.value, str)):
            raise self.error(pattern_node, "a pattern that is not a constant string",
                             hint='matches(answer, "^[0-9]+$")')
        try:
            pattern = re.compile(pattern_node.value)
        except re.error as exc:
            raise RecipeError(f"invalid regular expression {pattern_node.value!r}: {exc}") from None
        subject = self.compile(node.args[0])
        return lambda r: pattern.search(_need_str(subject(r), "matches")) is not None

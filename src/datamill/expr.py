"""A safe expression language over record fields (``filter``, outputs' ``where:``, ``classify`` rules'
``when:``, ``rewrite`` values; the user's reference is ``docs/expressions.md``).

Expressions are written in Python syntax but never run by Python: :func:`compile_expr` parses them with
``ast.parse(mode="eval")`` and turns a whitelist of nodes into a tree of closures, once, at recipe
load time. Anything else is a :class:`~datamill.errors.RecipeError` naming the construct and its
column, so a recipe cannot reach ``__import__``, attributes of Python objects, files or the network.

What an expression may contain:

* literals: strings, numbers, ``True``/``False``/``None``, and lists, tuples or sets of expressions;
* field paths: ``category``, ``meta.task_type``, ``scores.quality``, ``meta["task type"]``,
  ``messages[-1].role``, ``chosen`` (a message list): a path starts with a canonical field (see
  :mod:`datamill.selectors`); a missing field reads as ``None``. A bare name that is neither a part nor a
  canonical field (``task_type``, ``answr``) is a recipe error suggesting ``meta.task_type``;
* the text parts ``prompt``, ``answer``, ``system``, ``reasoning``, ``turns`` (``conversation``),
  ``all`` and ``text`` as strings (``""`` when the record has none), as ``on:`` selects them;
* comparisons ``== != < <= > >= in not in`` (chained like Python), ``x is None``, ``x is not None``;
* ``and``, ``or``, ``not``, ``a if cond else b``; arithmetic ``+ - * / // %`` and unary ``-``/``+``;
  a comparison or arithmetic between a number and a numeric string (a CSV column: ``meta.mean > 50``)
  reads the string as a number (:mod:`datamill.numbers`), and :meth:`Expr.take_coerced` counts it;
* the functions in :data:`FUNCTIONS`: ``len lower upper strip contains startswith endswith matches
  int float str abs min max exists``. ``matches(s, "regex")`` searches (``re.search``) and needs a
  constant pattern (compiled once); ``exists(path)`` is true when the field is present, even if null.

An error while evaluating one record (``"a" < 1``, ``len(None)``, ``int("x")``) raises
:class:`ExprEvalError`; the ``filter`` step turns it into a drop with reason ``expr_error``, naming the
fields the record lacks (:meth:`Expr.missing`). :attr:`Expr.fields` lists the field paths an expression
reads (outside ``exists()``), so a stage can say when one of them is absent from every record.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from datamill.errors import RecipeError, StepError
from datamill.numbers import parse_number
from datamill.records import get_path
from datamill.selectors import FIELD_ROOTS, check_field, fields_of, read_text, suggest

Evaluator = Callable[[Mapping[str, Any]], Any]

#: Record parts readable as variables; each is a string (``""`` when the record has no such part).
#: ``chosen`` and ``rejected`` are fields here (their message lists), as in the field steps.
PART_VARIABLES: frozenset[str] = frozenset({"prompt", "answer", "system", "reasoning", "turns", "conversation",
                                            "all", "text"})
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

    __slots__ = ("_coerced", "_fn", "_paths", "source")

    def __init__(self, source: str, fn: Evaluator, paths: dict[str, Callable[[Mapping[str, Any]], Any]] | None = None,
                 coerced: list[int] | None = None) -> None:
        self.source = source
        self._fn = fn
        self._paths = paths or {}
        self._coerced = coerced if coerced is not None else [0]

    def __call__(self, record: Mapping[str, Any]) -> Any:
        try:
            return self._fn(record)
        except Exception as exc:
            raise ExprEvalError(f"{type(exc).__name__}: {exc}") from exc

    @property
    def fields(self) -> tuple[str, ...]:
        """The field paths the expression reads (not those only tested with ``exists()``), as written."""
        return tuple(self._paths)

    def missing(self, record: Mapping[str, Any]) -> list[str]:
        """The fields of :attr:`fields` that ``record`` does not have."""
        return [name for name, read in self._paths.items() if read(record) is _MISSING]

    def take_coerced(self) -> int:
        """How many numeric strings were read as numbers since the last call."""
        n, self._coerced[0] = self._coerced[0], 0
        return n

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
    compiler = _Compiler(flat)
    try:
        tree = ast.parse(flat, mode="eval")
        fn = compiler.compile(tree.body)
    except SyntaxError as exc:
        where = f"column {exc.offset or 0}: {exc.msg}"
        raise RecipeError(f"invalid expression syntax at {where}: {flat!r}") from None
    except (RecursionError, MemoryError):
        raise RecipeError("the expression is nested too deeply") from None
    return Expr(source, fn, compiler.paths, compiler.coerced)


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
        return lambda r: r.get(head, _MISSING)
    if all(isinstance(k, str) and "." not in k and not k.lstrip("-").isdigit() for k in rest):
        dotted = ".".join([head, *map(str, rest)])
        return lambda r: get_path(r, dotted, _MISSING)
    return lambda r: _walk(r.get(head, _MISSING), rest)


def path_name(keys: Sequence[str | int]) -> str:
    """A field path as written in an expression: ``meta.task_type``, ``meta["task type"]``, ``messages[-1]``."""
    out = str(keys[0])
    for key in keys[1:]:
        if isinstance(key, int):
            out += f"[{key}]"
        elif key.isidentifier():
            out += f".{key}"
        else:
            out += f"[{key!r}]"
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric(op: Callable[[Any, Any], Any], counter: list[int]) -> Callable[[Any, Any], Any]:
    """``op`` that reads a numeric string as a number when the other operand is a number."""
    def apply(a: Any, b: Any) -> Any:
        if isinstance(a, str) and _is_number(b) and (n := parse_number(a)) is not None:
            counter[0] += 1
            a = n
        elif isinstance(b, str) and _is_number(a) and (n := parse_number(b)) is not None:
            counter[0] += 1
            b = n
        return op(a, b)
    return apply


_NUMERIC_COMPARE = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)


class _Compiler:
    def __init__(self, source: str) -> None:
        self.source = source
        #: field paths read outside ``exists()``, by name, with their readers
        self.paths: dict[str, Callable[[Mapping[str, Any]], Any]] = {}
        self.coerced = [0]

    def unknown(self, node: ast.expr, name: str) -> RecipeError:
        col = getattr(node, "col_offset", 0) + 1
        return RecipeError(f"unknown name '{name}' in the expression (column {col}): it is neither a text part "
                           "nor a canonical field", hint=suggest(name))

    def field_reader(self, node: ast.expr) -> Callable[[Mapping[str, Any]], Any]:
        """The reader of the field path at ``node``, remembered in :attr:`paths`."""
        keys = self.path(node)
        read = _path_reader(keys)
        self.paths.setdefault(path_name(keys), read)
        return read

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
            return lambda r: read_text(r, name)
        read = self.field_reader(node)
        return lambda r: None if (v := read(r)) is _MISSING else v

    def _Attribute(self, node: ast.Attribute) -> Evaluator:
        return self._field(node)

    def _Subscript(self, node: ast.Subscript) -> Evaluator:
        return self._field(node)

    def _field(self, node: ast.expr) -> Evaluator:
        read = self.field_reader(node)
        return lambda r: None if (v := read(r)) is _MISSING else v

    def path(self, node: ast.expr) -> list[str | int]:
        """The keys of a field path (``meta.a["b"][0]``) or a RecipeError saying what is wrong."""
        if isinstance(node, ast.Name):
            if node.id.startswith("__"):
                raise self.error(node, f"the name '{node.id}'")
            if node.id in PART_VARIABLES or node.id in FUNCTIONS:
                raise self.error(node, f"'.' or '[]' on '{node.id}' (not a field)",
                                 hint="only field paths like meta.task_type can use '.' and '[]'")
            if node.id not in FIELD_ROOTS:
                raise self.unknown(node, node.id)
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
        op = _numeric(op, self.coerced)
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
            fn = _COMPARE[type(op)]
            steps.append((_numeric(fn, self.coerced) if isinstance(op, _NUMERIC_COMPARE) else fn,
                          self.compile(comparator)))
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
            try:
                check_field(dotted)
            except ValueError as exc:
                raise RecipeError(f"exists({dotted!r}): {exc}") from None
            return lambda r: get_path(r, dotted, _MISSING) is not _MISSING
        read = _path_reader(self.path(arg))  # not in self.paths: testing for a field is not needing it
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


#: Note key prefix: records lacking a field a step reads (an expression's field, a field path in ``on:``).
MISSING_NOTE = "missing_field:"
EXISTS_HINT = "check the spelling (an original column is meta.<column>); a field that may be absent everywhere " \
              "is tested with exists(...)"


def check_fields_seen(what: str, fields: tuple[str, ...], records_in: int, notes: Mapping[str, int],
                      example: Mapping[str, Any] | None, hint: str = EXISTS_HINT) -> None:
    """A :class:`StepError` when a field ``what`` reads is missing from every one of ``records_in`` records
    (counted in ``notes`` as ``missing_field:<field>``), naming the fields the first record has."""
    absent = [f for f in fields if records_in and notes.get(f"{MISSING_NOTE}{f}", 0) >= records_in]
    if absent:
        names = ", ".join(absent)
        have = ", ".join(fields_of(example)) or "none"
        raise StepError(
            f"{what} reads {names}, which none of the {records_in} records has; the first record has: {have}",
            hint=hint,
        )

"""Safe column expressions: the one evaluator of every user-written rule and segment.

Rules (``"monthly_charges <= 110"``, the right side of ``"total_charges ~ tenure * monthly"``) and
segment rules (``"tenure < 6 and contract == 'Month-to-month'"``) come from configs and users.
``DataFrame.eval`` would follow attributes and subscripts into arbitrary code
(``contract.str.__class__.__init__.__globals__[...]``), so an expression is parsed with Python's
:mod:`ast` and checked against a small grammar first; anything outside it is refused, naming the
expression and the offending part, before any of it runs. What is allowed:

* column names (identifiers) and literals: numbers, strings, ``True``/``False``;
* arithmetic ``+ - * / // % **`` and unary ``-``/``+`` on numbers;
* comparisons ``== != < <= > >=`` (chains such as ``18 <= age < 65`` too), and
  ``column in [literal, ...]`` / ``not in``;
* ``and``, ``or``, ``not`` on conditions (and pandas' ``&``, ``|``, ``~``, with the precedence
  pandas gives ``&``/``|``: ``a < 1 & b > 2`` means ``(a < 1) and (b > 2)``);
* the functions in :data:`FUNCTIONS` (``abs``, ``sqrt``, ``log``, ``exp``, ``round``, ``min``,
  ``max``, ``isna``, ...).

Evaluation is vectorised on the frame's columns with pandas/numpy; the result is one value per
row (a constant is broadcast).
"""

from __future__ import annotations

import ast
import io
import operator
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, reduce
from typing import Any

import numpy as np
import pandas as pd

#: Longest expression accepted (characters); a rule is a line, not a program.
MAX_LENGTH = 2_000

#: Named functions an expression may call: name -> (function, fewest args, most args).
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "abs": (np.abs, 1, 1),
    "sqrt": (np.sqrt, 1, 1),
    "log": (np.log, 1, 1),
    "log10": (np.log10, 1, 1),
    "log1p": (np.log1p, 1, 1),
    "exp": (np.exp, 1, 1),
    "floor": (np.floor, 1, 1),
    "ceil": (np.ceil, 1, 1),
    "round": (lambda x, n=0: np.round(x, int(n)), 1, 2),
    "min": (lambda *xs: reduce(np.minimum, xs), 2, 8),
    "max": (lambda *xs: reduce(np.maximum, xs), 2, 8),
    "isna": (pd.isna, 1, 1),
    "notna": (pd.notna, 1, 1),
}

_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_SYMBOLS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_ALLOWED = (
    "column names, numbers, strings, True/False, + - * / // % **, comparisons, "
    "'in [...]', and/or/not, and the functions " + ", ".join(FUNCTIONS)
)


class ExpressionError(ValueError):
    """An expression that is refused (outside the grammar) or cannot be evaluated."""


@dataclass(frozen=True)
class Expression:
    """A checked expression over a table's columns; build it with :meth:`parse`."""

    text: str
    #: what was parsed: ``text`` with pandas' ``&``/``|`` spelled ``and``/``or``
    source: str = field(compare=False, repr=False)
    tree: ast.expr = field(compare=False, repr=False)
    columns: tuple[str, ...] = field(compare=False, default=())

    @classmethod
    def parse(cls, text: str, what: str = "expression") -> Expression:
        """Parse and check ``text``; an :class:`ExpressionError` names ``what``, the text and the
        offending part when it is outside the grammar. Nothing is evaluated."""
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError(f"{what} must be a non-empty string, got {_show(text)}")
        if len(text) > MAX_LENGTH:
            raise ExpressionError(
                f"{what} is {len(text)} characters long: at most {MAX_LENGTH} are accepted"
            )
        try:
            source = _pandas_booleans(text.strip())
            tree = ast.parse(source, mode="eval").body
        except (SyntaxError, tokenize.TokenError, ValueError) as exc:
            msg = getattr(exc, "msg", None) or str(exc)
            raise ExpressionError(
                f"{what} {_show(text)} cannot be evaluated: syntax error: {msg}"
            ) from None
        except RecursionError:
            raise ExpressionError(f"{what} {_show(text)} is refused: nested too deeply") from None
        columns: list[str] = []
        try:
            _check(tree, text, source, what, columns)
        except RecursionError:
            raise ExpressionError(f"{what} {_show(text)} is refused: nested too deeply") from None
        return cls(text, source, tree, tuple(dict.fromkeys(columns)))

    def evaluate(self, df: pd.DataFrame, what: str = "expression") -> pd.Series:
        """The expression's value for every row of ``df`` (a Series on ``df``'s index)."""
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise ExpressionError(
                f"{what} {_show(self.text)} cannot be evaluated: unknown column(s) {missing} "
                f"(columns: {list(df.columns)})"
            )
        try:
            with np.errstate(all="ignore"):
                out = _Evaluator(df, self.text, self.source, what).visit(self.tree)
        except ExpressionError:
            raise
        except Exception as exc:  # numpy/pandas type errors: say which expression failed
            raise ExpressionError(
                f"{what} {_show(self.text)} cannot be evaluated: {type(exc).__name__}: {exc}"
            ) from exc
        if isinstance(out, pd.Series):
            return out
        if np.ndim(out) == 0:
            return pd.Series(np.full(len(df), out), index=df.index)
        return pd.Series(np.asarray(out), index=df.index)

    def condition(self, df: pd.DataFrame, what: str = "condition") -> np.ndarray:
        """The expression as one True/False per row; an error when it gives anything else."""
        out = self.evaluate(df, what)
        if not pd.api.types.is_bool_dtype(out):
            raise ExpressionError(
                f"{what} {_show(self.text)} must be a condition (True/False), "
                f"got {out.dtype} values"
            )
        return out.to_numpy(dtype=bool)

    def numbers(self, df: pd.DataFrame, what: str = "expression") -> np.ndarray:
        """The expression as one float per row."""
        out = self.evaluate(df, what)
        if not (pd.api.types.is_numeric_dtype(out) or pd.api.types.is_bool_dtype(out)):
            raise ExpressionError(
                f"{what} {_show(self.text)} must give numbers, got {out.dtype} values"
            )
        return out.to_numpy(dtype=np.float64)


def parse(text: str, what: str = "expression") -> Expression:
    """:meth:`Expression.parse`, remembered: rules are evaluated on every round of candidates."""
    if not isinstance(text, str):
        raise ExpressionError(f"{what} must be a string, got {type(text).__name__} {text!r}")
    return _parse(text, what)


@lru_cache(maxsize=1024)
def _parse(text: str, what: str) -> Expression:
    return Expression.parse(text, what)


def _pandas_booleans(text: str) -> str:
    """``&``/``|`` as ``and``/``or`` (pandas' precedence: below comparisons), rewritten on
    tokens so that string literals are left alone."""
    swap = {"&": " and ", "|": " or "}
    if not any(ch in text for ch in swap):
        return text
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    out, last = [], 0
    for tok in tokens:
        if tok.type == tokenize.OP and tok.string in swap:
            at = starts[tok.start[0] - 1] + tok.start[1]
            out += [text[last:at], swap[tok.string]]
            last = at + 1
    return "".join(out) + text[last:]


def _check(node: ast.AST, text: str, source: str, what: str, columns: list[str]) -> None:
    """Refuse any node outside the grammar, naming it; collect the column names."""

    def refuse(why: str) -> ExpressionError:
        part = ast.get_source_segment(source, node) if hasattr(node, "lineno") else None
        shown = f" `{_clip(part)}`" if part and part != source else ""
        return ExpressionError(
            f"{what} {_show(text)} is refused:{shown} {why}; allowed: {_ALLOWED}"
        )

    if isinstance(node, ast.Name):
        columns.append(node.id)
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (bool, int, float, str)):
            return
        raise refuse(f"the literal {node.value!r} is not a number, string or True/False")
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, text, source, what, columns)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.Not, ast.Invert, ast.USub, ast.UAdd)):
            raise refuse(f"the operator {type(node.op).__name__} is not allowed")
        _check(node.operand, text, source, what, columns)
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITHMETIC:
            raise refuse(f"the operator {type(node.op).__name__} is not allowed")
        for side in (node.left, node.right):
            if isinstance(side, ast.Constant) and isinstance(side.value, str):
                raise refuse(f"arithmetic ({_SYMBOLS[type(node.op)]}) on a string")
            _check(side, text, source, what, columns)
        return
    if isinstance(node, ast.Compare):
        _check(node.left, text, source, what, columns)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, (ast.List, ast.Tuple, ast.Set)) or not all(
                    isinstance(e, ast.Constant)
                    and isinstance(e.value, (bool, int, float, str))
                    or _is_negative_number(e)
                    for e in right.elts
                ):
                    raise refuse("'in' takes a list of literals on its right, e.g. in ['a', 'b']")
            elif type(op) not in _COMPARE:
                raise refuse(f"the comparison {type(op).__name__} is not allowed")
            else:
                _check(right, text, source, what, columns)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            _check(node.func, text, source, what, columns)  # names the attribute, subscript, ...
            raise refuse("only the named functions may be called")
        name = node.func.id
        if name not in FUNCTIONS:
            raise refuse("only the named functions may be called")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise refuse(f"{name}() takes plain positional arguments")
        lo, hi = FUNCTIONS[name][1:]
        if not lo <= len(node.args) <= hi:
            n = str(lo) if lo == hi else f"{lo} to {hi}"
            raise refuse(f"{name}() takes {n} argument(s), got {len(node.args)}")
        for a in node.args:
            _check(a, text, source, what, columns)
        return
    kinds = {
        ast.Attribute: "attribute access",
        ast.Subscript: "a subscript ([...])",
        ast.Lambda: "lambda",
        ast.NamedExpr: "assignment (:=)",
        ast.IfExp: "if/else",
        ast.ListComp: "a comprehension",
        ast.SetComp: "a comprehension",
        ast.DictComp: "a comprehension",
        ast.GeneratorExp: "a comprehension",
        ast.JoinedStr: "an f-string",
        ast.Starred: "unpacking (*)",
        ast.Await: "await",
    }
    kind = next((v for k, v in kinds.items() if isinstance(node, k)), type(node).__name__)
    raise refuse(f"{kind} is not allowed")


def _clip(text: str, at: int = 200) -> str:
    return text if len(text) <= at else f"{text[:at]}... ({len(text)} characters)"


def _show(text: Any) -> str:
    """An expression quoted for a message (long ones cut)."""
    return repr(text) if not isinstance(text, str) or len(text) <= 200 else repr(_clip(text))


def _is_negative_number(e: ast.expr) -> bool:
    return (
        isinstance(e, ast.UnaryOp)
        and isinstance(e.op, ast.USub)
        and isinstance(e.operand, ast.Constant)
        and isinstance(e.operand.value, (int, float))
        and not isinstance(e.operand.value, bool)
    )


def _literal(e: ast.expr) -> Any:
    return -e.operand.value if isinstance(e, ast.UnaryOp) else e.value  # type: ignore[attr-defined]


class _Evaluator(ast.NodeVisitor):
    """Vectorised evaluation of a checked tree on a frame's columns."""

    def __init__(self, df: pd.DataFrame, text: str, source: str, what: str) -> None:
        self.df, self.text, self.source, self.what = df, text, source, what

    def _fail(self, node: ast.AST, why: str) -> ExpressionError:
        part = ast.get_source_segment(self.source, node) or self.text
        return ExpressionError(
            f"{self.what} {_show(self.text)} cannot be evaluated: `{_clip(part)}` {why}"
        )

    def visit_Name(self, node: ast.Name) -> pd.Series:
        return self.df[node.id]

    def visit_Constant(self, node: ast.Constant) -> Any:
        v = node.value
        if isinstance(v, bool):
            return np.bool_(v)
        if isinstance(v, int):  # numpy scalars: 10 ** 10 ** 10 overflows instead of hanging
            return np.int64(v) if -(2**63) <= v < 2**63 else np.float64(v)
        return np.float64(v) if isinstance(v, float) else v

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        vals = [self._boolean(v) for v in node.values]
        op = operator.and_ if isinstance(node.op, ast.And) else operator.or_
        return reduce(op, vals)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return ~self._boolean(node.operand)
        value = self._number(node.operand)
        return -value if isinstance(node.op, ast.USub) else +value

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self._number(node.left), self._number(node.right)
        return _ARITHMETIC[type(node.op)](left, right)

    def visit_Compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        parts = []
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                values = [_literal(e) for e in right_node.elts]  # type: ignore[attr-defined]
                hit = (
                    left.isin(values)
                    if isinstance(left, pd.Series)
                    else np.bool_(any(left == v for v in values))
                )
                parts.append(~hit if isinstance(op, ast.NotIn) else hit)
                continue
            right = self.visit(right_node)
            parts.append(_COMPARE[type(op)](left, right))
            left = right
        return reduce(operator.and_, parts)

    def visit_Call(self, node: ast.Call) -> Any:
        name = node.func.id  # type: ignore[attr-defined]
        func = FUNCTIONS[name][0]
        if name in ("isna", "notna"):
            return func(self.visit(node.args[0]))
        return func(*(self._number(a) for a in node.args))

    def generic_visit(self, node: ast.AST) -> Any:  # unreachable after _check
        raise self._fail(node, "is not allowed")

    def _number(self, node: ast.expr) -> Any:
        value = self.visit(node)
        kind = value.dtype if isinstance(value, pd.Series) else np.asarray(value).dtype
        if kind.kind not in "biuf":
            raise self._fail(node, f"is not a number ({kind}): arithmetic needs numbers")
        return value

    def _boolean(self, node: ast.expr) -> Any:
        value = self.visit(node)
        kind = value.dtype if isinstance(value, pd.Series) else np.asarray(value).dtype
        if kind.kind != "b":
            raise self._fail(node, f"is not True/False ({kind}): and/or/not need conditions")
        return value

"""Checking a formula: its limits, its grammar (grammar.lark), and what can be known before it
runs (the functions, methods and members it names, and how many arguments it gives them).

Learn (https://learn.microsoft.com/azure/batch/batch-automatic-scaling, "Autoscale formulas"):
a formula "cannot exceed 8 KB, can include up to 100 statements that are separated by
semicolons, and can include line breaks and comments". Learn's formulas end some statements
without ";" and comment with "//". The 8 KB are 8192 characters (the SDKs' error constant);
more than 100 statements is also AutoScalingFormulaTooLong (not documented).

Learn gives no grammar and no precedence: C's are used (loosest first: ?: right to left; ||;
&&; == !=; < <= > >=; + -; * /; prefix - and !; then calls, .Method(...) and .member), and C's
left-to-right grouping within a level, so 3 > 2 > 1 is (3 > 2) > 1, which is 0. Also chosen
(not documented): a statement is `name = expression` or an expression alone (evaluated and
dropped: the service evaluates "$something_useless" and fails it at run time); empty
statements are allowed; numbers are C's decimal literals (1, .5, 2.5e-3); strings are in
double quotes, without escapes, on one line; only // comments; names are case-sensitive;
assignment is not an expression; there is no vector literal (Learn's "v = [1,2,3]" is prose);
an unknown function, method or timestamp member, or a wrong
number of arguments, is a syntax error; nesting deeper than 100 levels is a syntax error.

The parser (lark, LALR) is built on the first parse and kept: importing this costs nothing.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from . import nodes
from .errors import SYNTAX_ERROR, TOO_LONG, FormulaError
from .functions import FUNCTIONS
from .samples import METHODS
from .values import TIMESTAMP_MEMBERS

if TYPE_CHECKING:
    import lark

MAX_CHARACTERS = 8192
MAX_STATEMENTS = 100
MAX_DEPTH = 100
GRAMMAR = Path(__file__).with_name("grammar.lark")

# How an error message names what the grammar expected.
READABLE = {"NAME": "a name", "NUMBER": "a number", "STRING": "a string",
            "$END": "the end of the formula"}


@functools.cache
def parser() -> lark.Lark:
    import lark
    return lark.Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr",
                     propagate_positions=True, maybe_placeholders=True)


def parse(text: str) -> nodes.Formula:
    """A formula, checked; FormulaError (AutoScalingFormulaSyntaxError or
    AutoScalingFormulaTooLong) if the service would refuse it."""
    if not isinstance(text, str):
        raise FormulaError(SYNTAX_ERROR, f"a formula is a string, not {type(text).__name__}")
    if len(text) > MAX_CHARACTERS:
        raise FormulaError(TOO_LONG, f"the formula has {len(text)} characters; "
                                     f"the limit is {MAX_CHARACTERS}")
    tree = _grammar_tree(text)
    if len(tree.children) > MAX_STATEMENTS:
        raise FormulaError(TOO_LONG, f"the formula has {len(tree.children)} statements; "
                                     f"the limit is {MAX_STATEMENTS}")
    _check_depth(tree)
    return nodes.Formula(text, tuple(_statement(child) for child in tree.children))


check = parse


def _grammar_tree(text: str) -> lark.Tree:
    import lark
    try:
        return parser().parse(text)
    except lark.exceptions.UnexpectedCharacters as exc:
        raise FormulaError(SYNTAX_ERROR, f"unexpected character {text[exc.pos_in_stream]!r}; "
                                         f"expected {_expected(exc.allowed)}",
                           exc.line, exc.column) from None
    except lark.exceptions.UnexpectedToken as exc:
        token = exc.token
        if token.type == "$END":
            line, column = _end(text)
            found = "end of formula"
        else:
            line, column, found = token.line, token.column, repr(str(token))
        raise FormulaError(SYNTAX_ERROR, f"unexpected {found}; expected "
                                         f"{_expected(exc.expected)}", line, column) from None


def _expected(terminals: set[str] | frozenset[str]) -> str:
    named = {terminal.name: terminal.pattern.value for terminal in parser().terminals
             if terminal.pattern.type == "str"}
    words = sorted(READABLE.get(name) or repr(named.get(name, name)) for name in terminals)
    return ", ".join(words) or "nothing more"


def _end(text: str) -> tuple[int, int]:
    """The line and column just past the text's last character."""
    return text.count("\n") + 1, len(text) - text.rfind("\n")


def _check_depth(tree: lark.Tree) -> None:
    """Refuse nesting the evaluator's recursion would not survive, without recursing here."""
    import lark
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormulaError(SYNTAX_ERROR, f"the formula nests deeper than {MAX_DEPTH} levels",
                               *_position(node))
        stack.extend((child, depth + 1) for child in node.children
                     if isinstance(child, lark.Tree))


def _position(item: lark.Tree | lark.Token) -> tuple[int, int]:
    if hasattr(item, "meta"):
        return item.meta.line, item.meta.column
    return item.line, item.column


def _statement(tree: lark.Tree) -> object:
    line, column = _position(tree)
    if tree.data == "assign":
        name, value = tree.children
        return nodes.Assign(line, column, str(name), _expression(value))
    return nodes.Expression(line, column, _expression(tree.children[0]))


def _expression(item: lark.Tree) -> object:
    line, column = _position(item)
    kind, children = item.data, item.children
    if kind == "number":
        return nodes.Number(line, column, float(children[0]))
    if kind == "string":
        return nodes.String(line, column, str(children[0])[1:-1])
    if kind == "variable":
        return nodes.Name(line, column, str(children[0]))
    if kind == "call":
        name, args = str(children[0]), _arguments(children[1])
        _check_arity(name, FUNCTIONS.get(name, (None, None, None))[:2], len(args), line,
                     column, "function")
        return nodes.Call(line, column, name, args)
    if kind == "method":
        target, name, args = _expression(children[0]), str(children[1]), _arguments(children[2])
        name_line, name_column = _position(children[1])
        _check_arity(name, METHODS.get(name, (None, None)), len(args), name_line, name_column,
                     "method")
        return nodes.Method(name_line, name_column, target, name, args)
    if kind == "member":
        target, name = _expression(children[0]), str(children[1])
        if name not in TIMESTAMP_MEMBERS:
            raise FormulaError(SYNTAX_ERROR, f"no member {name!r}: a timestamp has "
                                             f"{', '.join(TIMESTAMP_MEMBERS)}",
                               *_position(children[1]))
        return nodes.Member(*_position(children[1]), target, name)
    if kind == "prefix":
        op, operand = children
        return nodes.Prefix(op.line, op.column, str(op), _expression(operand))
    if kind == "ternary":
        return nodes.Ternary(line, column, *(_expression(child) for child in children))
    if kind in ("or_expr", "and_expr"):
        op = str(children[1])
        return nodes.Logical(children[1].line, children[1].column, op,
                             tuple(_expression(child) for child in children[::2]))
    # equality, relational, sum, product: operand (op operand)+
    ops = tuple((str(op), op.line, op.column) for op in children[1::2])
    return nodes.Chain(line, column, tuple(_expression(child) for child in children[::2]), ops)


def _arguments(args: lark.Tree | None) -> tuple:
    return () if args is None else tuple(_expression(child) for child in args.children)


def _check_arity(name: str, arity: tuple, given: int, line: int, column: int,
                 what: str) -> None:
    fewest, most = arity
    if fewest is None:
        raise FormulaError(SYNTAX_ERROR, f"unknown {what} {name!r}", line, column)
    if given < fewest or (most is not None and given > most):
        wanted = (f"{fewest}" if fewest == most else
                  f"at least {fewest}" if most is None else f"{fewest} to {most}")
        raise FormulaError(SYNTAX_ERROR, f"{name}() takes {wanted} argument"
                                         f"{'' if wanted == '1' else 's'}, not {given}",
                           line, column)

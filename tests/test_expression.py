"""The persona expression grammar: what is refused before anything runs, and bad values named."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from augment.persona import ExpressionError, Segment
from augment.persona.expression import parse
from augment.persona.rules import parse_rule


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("tenure.__class__ == 1", "`tenure.__class__` attribute access"),
        ("contract[0] == 'M'", "`contract[0]` a subscript"),
        ("__import__('os').getpid() > 0", "`__import__('os').getpid` attribute access"),
        ("open('x') == 1", "only the named functions"),
        ("(lambda: 1)() == 1", "lambda"),
        ("[t for t in tenure] == 1", "a comprehension"),
        ("f'{tenure}' == 'a'", "an f-string"),
        ("'ab' * 100000000 == contract", "arithmetic (*) on a string"),
        ("tenure in contract", "'in' takes a list of literals"),
        ("tenure == None", "the literal None"),
        ("abs(tenure, k=1) > 0", "plain positional arguments"),
        ("(t := tenure) > 1", "assignment (:=)"),
    ],
)
def test_outside_the_grammar_is_refused_naming_the_part(text, part):
    with pytest.raises(ExpressionError, match="is refused: .*" + re.escape(part)):
        parse(text, "rule")
    with pytest.raises(ValueError, match="is refused"):  # where users give expressions
        parse_rule(text)
    with pytest.raises(ValueError, match="segment rule .* is refused"):
        Segment.of(text)


def test_bad_values_are_named_at_evaluation():
    df = pd.DataFrame({"tenure": [1, 5], "contract": ["Month-to-month", "One year"]})
    with pytest.raises(ExpressionError, match=r"`contract` is not a number .*arithmetic"):
        parse("contract * 1000000000 > 1").evaluate(df)
    with pytest.raises(ExpressionError, match=r"unknown column\(s\) \['price'\]"):
        parse("price > 1").evaluate(df)
    with pytest.raises(ExpressionError, match="must be a condition"):
        parse("tenure * 2").condition(df)
    with pytest.raises(ExpressionError, match="syntax error"):
        parse("tenure >")
    with pytest.raises(ExpressionError, match="at most 2000"):
        parse("tenure + " * 400 + "1")
    # huge integer powers overflow in numpy instead of hanging in Python big integers
    assert parse("10 ** 10 ** 10 > 1").evaluate(df).dtype == bool

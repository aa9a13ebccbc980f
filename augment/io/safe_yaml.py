"""YAML read safely and within bounds: PyYAML's ``SafeLoader`` (no objects constructed from
tags), plus caps on what aliases can do.

A few hundred bytes of nested anchors and aliases ("billion laughs") expand to billions of
nodes: safe to load, but anything that walks the result (hashing a config, validating it) runs
for minutes. :func:`load_yaml` composes the node graph first (cheap: aliases are shared
references there), counts the nodes the document would expand to, and refuses it above
:data:`MAX_NODES` or when an alias refers to itself, before anything is constructed.
"""

from __future__ import annotations

from typing import Any

import yaml

#: Most nodes a document may expand to once aliases are followed (a job config has ~50).
MAX_NODES = 100_000
#: Largest YAML text read, in characters.
MAX_CHARS = 10_000_000


class YAMLLimitError(ValueError):
    """A YAML document too large (after expanding aliases) or recursive."""


def _expanded_size(node: yaml.Node, memo: dict[int, int], active: set[int]) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise YAMLLimitError("an alias refers to a node that contains it (a recursive document)")
    active.add(key)
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(n, memo, active) for n in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(
            _expanded_size(k, memo, active) + _expanded_size(v, memo, active) for k, v in node.value
        )
    else:
        size = 1
    active.discard(key)
    memo[key] = size
    if size > MAX_NODES:
        raise YAMLLimitError(
            f"the document expands to more than {MAX_NODES:,} nodes once its aliases are "
            "followed (an alias bomb?)"
        )
    return size


def load_yaml(text: str) -> Any:
    """Safe-load one YAML document, refusing one larger than :data:`MAX_CHARS` characters or
    :data:`MAX_NODES` expanded nodes, or a recursive one (:class:`YAMLLimitError`); malformed
    YAML raises ``yaml.YAMLError`` as usual."""
    if len(text) > MAX_CHARS:
        raise YAMLLimitError(f"the document has {len(text):,} characters (at most {MAX_CHARS:,})")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {}, set())
        return loader.construct_document(node)
    finally:
        loader.dispose()

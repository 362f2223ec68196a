"""The one YAML loader of scenario and plant files (and of ``--set`` values): safe, strict about repeated
keys, and bounded, so that a hostile or broken file is refused at once instead of exhausting the stack or
the memory: at most :data:`MAX_YAML_BYTES` read, :data:`MAX_YAML_DEPTH` levels of nesting, and
:data:`MAX_YAML_VALUES` values once aliases are expanded (a "billion laughs" file is a few hundred bytes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_YAML_BYTES = 20 * 2**20
"""Larger files are refused before they are parsed (a scenario or plant file is a few kB)."""
MAX_YAML_DEPTH = 64
"""Deeper nesting is refused while parsing (the bundled files nest less than ten levels)."""
MAX_YAML_VALUES = 1_000_000
"""Most values (scalars and collections) a document may hold, an alias counted each time it is used."""


class YamlLimitError(ValueError):
    """A YAML text beyond one of the bounds; ``str()`` says which, without the file's name."""


def too_large() -> YamlLimitError:
    return YamlLimitError(f"larger than {MAX_YAML_BYTES // 2**20} MB")


def read_bounded(path: Path) -> str:
    """The UTF-8 text of ``path``, reading no more than :data:`MAX_YAML_BYTES` (YamlLimitError beyond;
    OSError and UnicodeDecodeError as raised)."""
    if path.stat().st_size > MAX_YAML_BYTES:
        raise too_large()
    with path.open("rb") as stream:
        raw = stream.read(MAX_YAML_BYTES + 1)  # the size may have lied (a file still being written)
    if len(raw) > MAX_YAML_BYTES:
        raise too_large()
    return raw.decode("utf-8")


class StrictLoader(yaml.SafeLoader):
    """A safe loader that rejects a key repeated in one mapping (plain YAML keeps the last one silently)
    and nesting deeper than :data:`MAX_YAML_DEPTH` (plain YAML recurses until the stack runs out)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise YamlLimitError(f"nested deeper than {MAX_YAML_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable: the base class reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


# Dates stay text so that pydantic parses them and an impossible date names its field.
StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_bounded(text: str) -> Any:
    """The document in ``text``: yaml.YAMLError when malformed, YamlLimitError beyond a bound."""
    if len(text) > MAX_YAML_BYTES:  # characters: at least as many bytes
        raise too_large()
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: Node) -> None:
    """Refuse a node graph whose aliases expand it beyond :data:`MAX_YAML_VALUES` values or
    :data:`MAX_YAML_DEPTH` levels, or that holds itself (``&a [*a]``), before anything expands it.

    Each node is counted once (``sizes`` remembers a shared node's values and height), so this takes time
    in the number of distinct nodes, not in the expanded size."""
    sizes: dict[int, tuple[int, int]] = {}
    open_nodes: set[int] = set()

    def walk(node: Node, depth: int) -> tuple[int, int]:
        key = id(node)
        known = sizes.get(key)
        if known is None:
            if key in open_nodes:
                raise YamlLimitError("an alias refers to a collection that holds it")
            if depth > MAX_YAML_DEPTH:
                raise YamlLimitError(f"nested deeper than {MAX_YAML_DEPTH} levels (aliases expanded)")
            children: list[Node] = []
            if isinstance(node, SequenceNode):
                children = list(node.value)
            elif isinstance(node, MappingNode):
                children = [part for pair in node.value for part in pair]
            open_nodes.add(key)
            values, height = 1, 0
            for child in children:
                child_values, child_height = walk(child, depth + 1)
                values += child_values
                height = max(height, child_height + 1)
                if values > MAX_YAML_VALUES:
                    raise YamlLimitError(
                        f"more than {MAX_YAML_VALUES:,} values (an alias counts each time it is used)"
                    )
            open_nodes.discard(key)
            known = sizes[key] = (values, height)
        if depth + known[1] > MAX_YAML_DEPTH:
            raise YamlLimitError(f"nested deeper than {MAX_YAML_DEPTH} levels (aliases expanded)")
        return known

    if not isinstance(root, ScalarNode):
        walk(root, 1)

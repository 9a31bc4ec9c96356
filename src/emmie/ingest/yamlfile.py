"""YAML as emmie reads it: safe types only, no anchors or aliases, no duplicate keys.

Aliases let a few kilobytes expand into gigabytes (the "billion laughs" of YAML), and a review
file has no use for them; a duplicate key silently keeps the last value, which hides a typo or a
merge gone wrong. Both are refused with the line they are on.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError


def _refuse_duplicate_keys(loader, node, deep):  # noqa: ANN001
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (str, int, float, bool)) and key in seen:
            raise ConstructorError(None, None, f"the key {key!r} twice in one mapping: keep one", key_node.start_mark)
        if isinstance(key, (str, int, float, bool)):
            seen[key] = True


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses aliases and duplicate mapping keys."""

    def compose_node(self, parent, index):  # noqa: ANN001 (PyYAML's signature)
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ComposerError(
                None,
                None,
                f"an alias (*{event.anchor}): anchors and aliases are not allowed; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):  # noqa: ANN001
        _refuse_duplicate_keys(self, node, deep)
        return super().construct_mapping(node, deep=deep)


def read_yaml(text: str) -> Any:
    """Parse YAML text with :class:`StrictLoader` (raises ``yaml.YAMLError`` with a mark)."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader subclass)


if yaml.__with_libyaml__:

    class _QuickLoader(yaml.CSafeLoader):  # libyaml parses; the constructor (Python) refuses duplicate keys
        def construct_mapping(self, node, deep=False):  # noqa: ANN001
            _refuse_duplicate_keys(self, node, deep)
            return super().construct_mapping(node, deep=deep)


def read_yaml_quick(text: str) -> Any:
    """What :func:`read_yaml` returns for a file it accepts, parsed by libyaml (C, about ten times faster); None for
    a file with an alias or a duplicate key, or one libyaml cannot parse (where libyaml is more lenient than PyYAML's
    own parser, what libyaml reads). For planning (the Snakefile reads each review's keys to see what changed),
    where an edit only has to read as a change; :func:`read_yaml`, in the steps, says what is wrong with a file."""
    if not yaml.__with_libyaml__:
        try:
            return read_yaml(text)
        except yaml.YAMLError:
            return None
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.CSafeLoader)):
            return None
        return yaml.load(text, Loader=_QuickLoader)  # noqa: S506 (a CSafeLoader subclass)
    except yaml.YAMLError:
        return None

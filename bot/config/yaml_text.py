"""YAML in and out: reading keeps the line of every value, writing has a stable layout.

Reading follows YAML 1.2 for plain values, which is what people expect when they
write a configuration by hand: ``20:00`` is a time, not the number 1200 (YAML 1.1's
base 60), ``off`` and ``no`` are words, not false, and dates stay text until the
schema reads them. Writing uses PyYAML's ordinary safe dumper, which quotes every
value that a YAML 1.1 reader could take for something else, so an exported file
means the same to any YAML reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.errors import JobbotError

Path = tuple[str | int, ...]

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """The safe loader with YAML 1.2's plain booleans and numbers, and no timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers
            if tag not in (_BOOL, _INT, _FLOAT, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT, re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"))


class ConfigUnreadable(JobbotError):
    """The file is empty, not text, or not YAML: one line says which."""


@dataclass(frozen=True)
class Document:
    """Parsed YAML and, for each path into it, the line (1-based) it is written on."""

    data: Any
    lines: dict[Path, int]

    def line_of(self, path: Path) -> int:
        """The line of ``path``, or of the nearest enclosing value the file has."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


def read(text: str | bytes) -> Document:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigUnreadable("not a text file (expected YAML in UTF-8)") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigUnreadable("the file is empty (start from 'jobbot config example')")
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        where = error.problem_mark or error.context_mark
        line = f" on line {where.line + 1}" if where is not None else ""
        raise ConfigUnreadable(f"not valid YAML: {error.problem or error.context}{line}"
                               ) from None
    except yaml.YAMLError as error:
        raise ConfigUnreadable(f"not valid YAML: {error}") from None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    duplicates: list[tuple[Path, int]] = []
    _walk(node, (), lines, duplicates)
    if duplicates:
        path, line = duplicates[0]
        raise ConfigUnreadable(f"the key {format_path(path)} is written twice (line {line})")
    return Document(data, lines)


def _walk(node: Node, path: Path, lines: dict[Path, int],
          duplicates: list[tuple[Path, int]]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue
            key = key_node.value
            if key in seen:
                duplicates.append(((*path, key), key_node.start_mark.line + 1))
            seen.add(key)
            # The key's line: where a reader looks for "window_start:".
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, duplicates)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, duplicates)


def format_path(path: Path) -> str:
    """``("centres", 0, "attendance_policy")`` as ``centres[0].attendance_policy``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top of the file)"


# --- writing ---------------------------------------------------------------------------
class Quoted(str):
    """A value always written in quotes (times of day and local date-times), so they
    look the same whether or not a YAML 1.1 reader would misread them."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key; easier to read than PyYAML's flush style.
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_quoted(dumper: yaml.SafeDumper, value: Quoted) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="'")


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    # Short lists of words (weekdays) on one line; lists of mappings as blocks.
    flow = bool(value) and all(isinstance(v, str) and "\n" not in v for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(Quoted, _represent_quoted)
_Dumper.add_representer(list, _represent_list)


def dump(data: Any) -> str:
    """YAML with keys in the order given (the caller's order is the stable one)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)

"""Reading catalog files while remembering where each value was written.

Validation happens on plain dicts, but its errors must point at a line; a `Source` maps a
path of keys (``("errors", "rate_limited", "status")``) to the line it came from.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ._errors import CatalogError

__all__ = ["Source", "read_catalog_file"]

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a catalog came from: a file (with line numbers), a profile or a dict."""

    name: str | None
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int | None:
        """The line of the value at ``path``, or of its nearest located parent."""
        while True:
            found = self.lines.get(path)
            if found is not None or not path:
                return found
            path = path[:-1]

    def error(self, problem: str, path: KeyPath = (), key: str | None = None) -> CatalogError:
        """A CatalogError located at ``path``; ``key`` defaults to the entry the path is in."""
        if key is None and len(path) >= 2 and path[0] == "errors":
            key = str(path[1])
            rest = ".".join(str(p) for p in path[2:])
            if rest:
                key = f"{key}.{rest}"
        elif key is None and path:
            key = ".".join(str(p) for p in path)
        return CatalogError(problem, file=self.name, line=self.line(path), key=key)


def read_catalog_file(path: Path, display: str | None = None) -> tuple[Any, Source]:
    """Parse a YAML or TOML catalog file into plain data and its line map.

    Raises:
        CatalogError: the file cannot be read or is not valid YAML/TOML, located at the
            parser's line.
    """
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"not UTF-8 text ({exc.reason})", file=name) from exc
    except OSError as exc:
        raise CatalogError(f"cannot read the file: {exc.strerror}", file=name) from exc
    if path.suffix.lower() == ".toml":
        return _read_toml(text, name)
    return _read_yaml(text, name)


class _CatalogLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans.

    YAML 1.1 reads ``on``, ``off``, ``yes`` and ``no`` as booleans, which would turn the
    entry key ``on:`` into ``True``; in YAML 1.2 only true and false are booleans.
    """


_BOOL = "tag:yaml.org,2002:bool"
_CatalogLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_CatalogLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


#: How many values a catalog may hold once YAML aliases are expanded. A real catalog has a
#: few thousand; the bound stops "billion laughs" alias chains from exhausting memory.
MAX_EXPANDED_VALUES = 200_000


def _read_yaml(text: str, name: str) -> tuple[Any, Source]:
    loader = _CatalogLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, Source(name)
        lines: dict[KeyPath, int] = {}
        _YamlWalker(loader, name, lines).walk(node, ())
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        raise CatalogError(f"invalid YAML: {what}", file=name, line=line) from exc
    except yaml.YAMLError as exc:
        raise CatalogError(f"invalid YAML: {exc}", file=name) from exc
    except RecursionError:
        raise CatalogError("the YAML is nested too deeply to be a catalog", file=name) from None
    finally:
        loader.dispose()
    return data, Source(name, lines)


class _YamlWalker:
    """Records the line of every value and refuses what PyYAML would accept silently.

    Duplicate keys (PyYAML keeps the last), keys that are not scalars, aliases that contain
    themselves, and alias chains that expand past MAX_EXPANDED_VALUES. A node reached again
    through an alias is not walked twice: its lines are those of its anchor.
    """

    def __init__(self, loader: yaml.SafeLoader, name: str, lines: dict[KeyPath, int]) -> None:
        self.loader = loader
        self.name = name
        self.lines = lines
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def walk(self, node: yaml.Node, path: KeyPath) -> int:
        """Walk ``node`` at ``path``; returns how many values it expands to."""
        self.lines.setdefault(path, node.start_mark.line + 1)
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in self.open:
            raise self.error("a YAML alias refers to a value that contains it", path, node)
        self.open.add(id(node))
        size = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self.key(key_node, path)
                line = key_node.start_mark.line + 1
                if key in seen:
                    # A catalog that defines an entry twice almost always lost an edit.
                    raise self.error(
                        f"duplicate key {key!r} (first defined on line {seen[key]})",
                        (*path, key),
                        key_node,
                    )
                seen[key] = line
                self.lines[(*path, key)] = line
                size += self.walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                size += self.walk(item, (*path, index))
        self.open.discard(id(node))
        if size > MAX_EXPANDED_VALUES:
            raise self.error(
                f"the catalog expands to more than {MAX_EXPANDED_VALUES} values through "
                "YAML aliases",
                path,
                node,
            )
        self.sizes[id(node)] = size
        return size

    def key(self, node: yaml.Node, path: KeyPath) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error("expected a text or number key, got a list or mapping", path, node)
        # The constructor gives the key the data will have (200, True, None...), so the line
        # map and the constructed catalog agree.
        return self.loader.construct_object(node)

    def error(self, problem: str, path: KeyPath, node: yaml.Node) -> CatalogError:
        where = ".".join(str(p) for p in path) or None
        return CatalogError(problem, file=self.name, line=node.start_mark.line + 1, key=where)


_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_TABLE = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(?:#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def _read_toml(text: str, name: str) -> tuple[Any, Source]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_LINE.search(message)
        line = int(match.group(1)) if match else None
        raise CatalogError(
            f"invalid TOML: {_TOML_LINE.sub('', message).strip()}", file=name, line=line
        ) from exc
    return data, Source(name, _toml_lines(text))


def _toml_lines(text: str) -> dict[KeyPath, int]:
    # tomllib keeps no positions; tables and keys are found line by line, which covers the
    # layout catalogs use ([errors.key] tables with key = value lines).
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        table_match = _TOML_TABLE.match(raw)
        if table_match:
            table = tuple(_toml_key_parts(table_match.group(1)))
            for depth in range(1, len(table) + 1):
                lines.setdefault(table[:depth], number)
            continue
        key_match = _TOML_KEY.match(raw)
        if key_match:
            key_path = (*table, *_toml_key_parts(key_match.group(1)))
            for depth in range(len(table) + 1, len(key_path) + 1):
                lines.setdefault(key_path[:depth], number)
    return lines


def _toml_key_parts(dotted: str) -> list[str]:
    return [
        part.strip().strip("\"'")
        for part in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", dotted)
    ]

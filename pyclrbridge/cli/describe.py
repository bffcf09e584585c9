"""``describe`` and ``search``: what a .NET type offers, in Python terms.

Output is rich tables when stdout is a terminal and ``rich`` is importable, plain text
otherwise (pipes, files, CI logs), and JSON with ``--json``.
"""

from __future__ import annotations

import fnmatch
from typing import Any, TextIO

from ..host import typeinfo as _typeinfo
from . import names as _cli_names


def use_rich(stream: TextIO) -> bool:
    """Rich output only on a terminal, and only when rich is installed (it is optional)."""
    if not stream.isatty():
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


# ---- describe -------------------------------------------------------------------------


def _member_rows(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Sections in print order: (title, lines)."""
    sections: list[tuple[str, list[str]]] = []
    if data.get("invoke"):
        sections.append(("Call signature", [data["invoke"]]))
    if data["constructors"]:
        sections.append(("Constructors", list(data["constructors"])))
    methods = [sig for sigs in data["methods"].values() for sig in sigs]
    if methods:
        sections.append(("Methods", methods))
    props = []
    for p in data["properties"]:
        access = " ".join(w for w, on in (("get", p["get"]), ("set", p["set"])) if on)
        props.append(f"{'static ' if p['static'] else ''}{p['name']}: {p['type']}  {{{access}}}")
    if props:
        sections.append(("Properties", props))
    fields = []
    for f in data["fields"]:
        mods = "const " if f["const"] else ("readonly " if f["readonly"] else "")
        fields.append(f"{'static ' if f['static'] and not f['const'] else ''}{mods}{f['name']}: {f['type']}")
    if fields:
        sections.append(("Fields", fields))
    events = [f"{'static ' if e['static'] else ''}{e['name']}: {e['type']}" for e in data["events"]]
    if events:
        sections.append(("Events", events))
    if data["enum_values"]:
        sections.append(("Values", [f"{n} = {v}" for n, v in data["enum_values"]]))
    if data["nested"]:
        sections.append(("Nested types", list(data["nested"])))
    return sections


def _header(data: dict[str, Any]) -> list[str]:
    mods = " ".join(
        m
        for m in ("static" if data["static"] else "", "abstract" if data["abstract"] and not data["static"] else "")
        if m
    )
    lines = [f"{mods + ' ' if mods else ''}{data['kind']} {data['name']}  (assembly {data['assembly']})"]
    if data["base"]:
        lines.append(f"base: {data['base']}")
    if data["interfaces"]:
        lines.append(f"interfaces: {', '.join(data['interfaces'])}")
    return lines


def print_describe(data: dict[str, Any], out: TextIO) -> None:
    if use_rich(out):
        _print_describe_rich(data, out)
        return
    for line in _header(data):
        print(line, file=out)
    for title, rows in _member_rows(data):
        print(f"\n{title}:", file=out)
        for row in rows:
            print(f"  {row}", file=out)


def _print_describe_rich(data: dict[str, Any], out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out)
    for line in _header(data):
        console.print(line, markup=False, highlight=False)
    for title, rows in _member_rows(data):
        table = Table(title=title, title_justify="left", show_header=False, expand=False)
        table.add_column(title)
        for row in rows:
            table.add_row(Text(row))  # Text: "[key: int]" is not rich markup
        console.print(table)


# ---- search -----------------------------------------------------------------------------


def _matcher(pattern: str) -> Any:
    """Glob when the pattern has ``* ? [``, else a substring; both ignore case."""
    lowered = pattern.lower()
    if any(c in pattern for c in "*?["):
        return lambda text: fnmatch.fnmatchcase(text.lower(), lowered)
    return lambda text: lowered in text.lower()


def search(
    pattern: str, *, namespace: str | None = None, members: bool = True, limit: int = 200
) -> list[dict[str, str]]:
    """Types whose full name matches and members whose ``Type.Member`` name matches.

    Member search reads the member table of each type in scope (about 3 ms a type), so
    ``namespace`` (a prefix) keeps big searches quick.
    """
    match = _matcher(pattern)
    hits: list[dict[str, str]] = []
    for full in _cli_names.all_type_names():
        if namespace and not (full == namespace or full.startswith(namespace + ".")):
            continue
        shown = full.split("`")[0]
        if match(shown) or match(shown.rsplit(".", 1)[-1]):
            hits.append({"kind": "type", "name": shown, "full_name": full})
        if not members:
            continue
        type_id = _typeinfo.id_by_name(full)
        if not type_id:
            continue
        table = _typeinfo.members(type_id)
        names: list[tuple[str, str]] = [(n, "method") for n in table["methods"]]
        names += [(p["name"], "property") for p in table["properties"]]
        names += [(f["name"], "field") for f in table["fields"]]
        names += [(e["name"], "event") for e in table["events"]]
        for name, kind in names:
            qualified = f"{shown}.{name}"
            if match(name) or (any(c in pattern for c in "*?[") and match(qualified)):
                hits.append({"kind": kind, "name": qualified, "full_name": full})
        if len(hits) >= limit:
            break
    return hits[:limit]


def print_search(hits: list[dict[str, str]], out: TextIO) -> None:
    if use_rich(out):
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table("kind", "name")
        for h in hits:
            table.add_row(h["kind"], Text(h["name"]))
        Console(file=out).print(table)
        return
    for h in hits:
        print(f"{h['kind']:<9} {h['name']}", file=out)

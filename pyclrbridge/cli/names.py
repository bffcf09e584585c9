""".NET types and signatures in Python terms, shared by ``describe``, ``search`` and ``stubs``
(the spelling itself is :mod:`pyclrbridge.proxies.pyterms`, which ``help()`` uses too).

``System.Int32`` is ``int``, ``System.String`` is ``str``, ``List`1`` with argument
``System.Int32`` is ``List[int]``, a ``Nullable<T>`` is ``T | None``. Signatures show how
Python calls a member: ``out`` parameters are not passed but come back in a tuple after the
return value (as ``invoke_plan`` returns them).
"""

from __future__ import annotations

import difflib
from typing import Any

from .. import _importer
from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..proxies.pyterms import param_text, py_type, short_namer, signature
from ..proxies.signatures import Overload, Param

# ---- finding a type by what the user typed ---------------------------------------------


def all_type_names() -> list[str]:
    """Full names (``System.Collections.Generic.List`1``) of every public type loaded."""
    ix = _importer.index()
    return sorted({full for by_short in ix.types.values() for names in by_short.values() for full in names})


def _candidates(text: str) -> list[str]:
    """Names to try for ``text``: as typed, without ``[T]``, with each generic arity."""
    plain = text.strip()
    if plain.endswith("]") and "[" in plain and "," not in plain.split("[", 1)[0]:
        plain = plain.split("[", 1)[0]
    names = [plain] if "`" in plain else [plain, *(f"{plain}`{n}" for n in range(1, 9))]
    if "." in plain:  # a nested type: Outer.Inner is Outer+Inner to .NET
        names.append("+".join(plain.rsplit(".", 1)))
    return names


def _ensure_namespace_loaded(text: str) -> None:
    ns = text.rsplit(".", 1)[0] if "." in text else ""
    if ns:
        data, n = _bridge.utf16(ns)
        _bridge.shim().TryLoadNamespace(data, n)


#: Python spellings accepted as type arguments (``List[int]``).
#: Read-only after import: no lock.
_PY_TYPE_ARGS = {
    "int": "System.Int32",
    "float": "System.Double",
    "str": "System.String",
    "bool": "System.Boolean",
    "object": "System.Object",
}


def _split_generic(text: str) -> tuple[str, list[str]] | None:
    """``Dictionary[str, List[int]]`` -> (``Dictionary``, [``str``, ``List[int]``])."""
    text = text.strip()
    if not text.endswith("]") or "[" not in text:
        return None
    head, inner = text.split("[", 1)
    args: list[str] = []
    depth, current = 0, ""
    for ch in inner[:-1]:
        if ch == "," and depth == 0:
            args.append(current.strip())
            current = ""
            continue
        depth += (ch == "[") - (ch == "]")
        current += ch
    args.append(current.strip())
    return head, [a for a in args if a]


def resolve_type(text: str) -> int:
    """The type id for a full name, a name without its generic arity, a unique short name, or
    a generic instantiation in Python spelling (``List[int]``, ``Dictionary[str, List[int]]``).

    Raises LookupError naming the closest matches when nothing fits.
    """
    split = _split_generic(text)
    if split is not None:
        head, args = split
        definition = resolve_type(f"{head}`{len(args)}" if "`" not in head else head)
        params = [_typeinfo.info(a).name for a in _typeinfo.info(definition).generic_args]
        if args == params or not _typeinfo.info(definition).generic_def:  # List[T]: the definition
            return definition
        ids = [resolve_type(_PY_TYPE_ARGS.get(a, a)) for a in args]
        return _typeinfo.make_generic(definition, ids)
    for attempt in range(2):
        for name in _candidates(text):
            found = _typeinfo.id_by_name(name)
            if found:
                return found
        if attempt == 0:
            _ensure_namespace_loaded(_candidates(text)[0])
    names = all_type_names()
    short = _candidates(text)[0]
    by_short = [n for n in names if short in (n.rsplit(".", 1)[-1], n.rsplit(".", 1)[-1].split("`")[0])]
    if len(by_short) == 1:
        return _typeinfo.id_by_name(by_short[0])
    if len(by_short) > 1:
        raise LookupError(f"{text!r} is ambiguous: " + ", ".join(by_short[:10]))
    nested = _nested(text)
    if nested:
        return nested
    raise LookupError(unknown_type_message(text, names))


def _nested(text: str) -> int:
    """``Widget.Part`` when ``Widget`` is a unique short name: its nested type ``Part``."""
    if "." not in text:
        return 0
    outer, inner = text.rsplit(".", 1)
    try:
        outer_id = resolve_type(outer)
    except LookupError:
        return 0
    for name in _candidates(inner):
        found = _typeinfo.id_by_name(f"{_typeinfo.info(outer_id).full_name}+{name}")
        if found:
            return found
    return 0


def unknown_type_message(text: str, names: list[str]) -> str:
    shown = sorted({n.split("`")[0] for n in names})
    by_short: dict[str, list[str]] = {}
    for full in shown:
        by_short.setdefault(full.rsplit(".", 1)[-1], []).append(full)
    close = difflib.get_close_matches(text, shown, n=5, cutoff=0.8)
    for short in difflib.get_close_matches(text.rsplit(".", 1)[-1], list(by_short), n=5, cutoff=0.6):
        close += [full for full in by_short[short] if full not in close]
    hint = f"; did you mean: {', '.join(close[:5])}?" if close else ""
    return (
        f"no .NET type {text!r} in the {len(_importer.index().assemblies)} loaded assemblies{hint} "
        "(load the assembly that defines it with -r)"
    )


def constructors(type_id: int, table: dict[str, Any] | None = None) -> list[Overload]:
    """Public constructors, for generic definitions too (``List[T](collection)``)."""
    t = _typeinfo.info(type_id)
    if t.open and t.kind not in ("interface", "generic-param"):
        ctors = _bridge.json_call(_bridge.shim().DescribeConstructors, type_id)
    else:
        ctors = (table or _typeinfo.members(type_id))["ctors"]
    return [Overload.from_json(c) for c in ctors]


def _distinct(overloads: list[Overload]) -> list[str]:
    """Python signatures; where two read the same (Int16 and Int32 are both ``int``), each
    gets its .NET signature as a comment."""
    sigs = [signature(o) for o in overloads]
    return [f"{sig}  # {o.sig}" if sigs.count(sig) > 1 else sig for sig, o in zip(sigs, overloads, strict=True)]


def describe_data(type_id: int) -> dict[str, Any]:
    """Everything ``describe`` prints, as plain JSON-ready data."""
    t = _typeinfo.info(type_id)
    table = _typeinfo.members(type_id)

    def props(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for p in items:
            index = [Param.from_json(i) for i in p.get("index", [])]
            out.append(
                {
                    "name": p["name"] if not index else f"[{', '.join(param_text(i) for i in index)}]",
                    "type": py_type(p["type"]),
                    "static": p["static"],
                    "get": "get" in p,
                    "set": "set" in p,
                }
            )
        return out

    shown = short_namer(_typeinfo.info(t.generic_def_id) if t.generic_def_id else t)
    if t.generic_args:
        shown += f"[{', '.join(py_type(a) for a in t.generic_args)}]"
    fields = [
        {
            "name": f["name"],
            "type": py_type(f["type"]),
            "static": f["static"],
            "readonly": f["readonly"],
            "const": f["const"],
        }
        for f in table["fields"]
    ]
    return {
        "name": f"{t.namespace}.{shown}" if t.namespace else shown,
        "full_name": t.full_name,
        "kind": t.kind,
        "assembly": t.assembly,
        "base": py_type(t.base) if t.base else None,
        "interfaces": [py_type(i) for i in t.interfaces],
        "static": t.static,
        "abstract": t.abstract,
        "constructors": (
            [f"{short_namer(t)}(callable)"]
            if t.kind == "delegate"
            else [signature(c, short_namer(t)) for c in constructors(type_id, table)]
        ),
        "methods": {
            name: _distinct([Overload.from_json(o) for o in overloads])
            for name, overloads in sorted(table["methods"].items())
        },
        "properties": props(table["properties"]),
        "fields": fields,
        "events": [{"name": e["name"], "type": py_type(e["type"]), "static": e["static"]} for e in table["events"]],
        "enum_values": [[n, v] for n, v in table.get("enumValues", [])],
        "nested": [n["name"].split("`")[0] for n in table["nested"]],
        "invoke": signature(Overload.from_json(table["invoke"]), "") if "invoke" in table else None,
    }

""".NET types and signatures in Python terms: what ``help()``, ``__doc__``, ``describe`` and
the stubs show, so that they all use the same words.

``System.Int32`` is ``int``, ``System.String`` is ``str``, ``List`1`` with argument
``System.Int32`` is ``List[int]``, a ``Nullable<T>`` is ``T | None``. Signatures show how
Python calls a member: ``out`` parameters are not passed but come back in a tuple after the
return value (as ``invoke_plan`` returns them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..host import typeinfo as _typeinfo
from ..host.typeinfo import TypeInfo
from .signatures import Overload, Param

#: .NET types that cross as plain Python values.
#: Read-only after import: no lock.
PYTHON_BUILTINS: dict[str, str] = {
    "System.Int32": "int",
    "System.Int64": "int",
    "System.Int16": "int",
    "System.SByte": "int",
    "System.Byte": "int",
    "System.UInt16": "int",
    "System.UInt32": "int",
    "System.UInt64": "int",
    "System.Double": "float",
    "System.Single": "float",
    "System.String": "str",
    "System.Char": "str",
    "System.Boolean": "bool",
    "System.Void": "None",
    "System.Object": "object",
    "System.Decimal": "Decimal",
}

#: A function that names a class-like type (not a builtin, not a generic parameter), or None
#: when the type should be ``Any`` (stubs for namespaces that were not generated).
Namer = Callable[[TypeInfo], "str | None"]


def short_namer(t: TypeInfo) -> str:
    """``List`` for ``System.Collections.Generic.List`1`` (nested: ``Outer.Inner``)."""
    base = t.name.split("`")[0]
    if t.declaring:
        return f"{short_namer(_typeinfo.info(t.declaring))}.{base}"
    return base


def py_type(
    type_id: int,
    namer: Namer = short_namer,
    *,
    builtins: bool = True,
    spell: Mapping[str, str] | None = None,
    arrays: str | None = None,
) -> str:
    """The Python spelling of a .NET type. ``spell`` renames ``Any`` and ``Decimal`` (stubs
    import them under private names, so class members named ``Any`` cannot shadow them);
    ``arrays`` names the generic class arrays are spelled with (``Array[int]`` by default
    for display; stubs pass their own array class)."""
    names = spell or {}
    if not type_id:
        return "None"
    t = _typeinfo.info(type_id)
    if t.kind == "byref" and t.element:
        return py_type(t.element, namer, builtins=builtins, spell=spell, arrays=arrays)
    if t.kind == "generic-param":
        return t.name
    if t.nullable_of:
        return f"{py_type(t.nullable_of, namer, builtins=builtins, spell=spell, arrays=arrays)} | None"
    if builtins and t.full_name in PYTHON_BUILTINS:
        found = PYTHON_BUILTINS[t.full_name]
        return names.get(found, found)
    if t.kind == "array":
        inner = py_type(t.element, namer, builtins=builtins, spell=spell, arrays=arrays)
        if arrays is None and namer is not short_namer:
            return names.get("Any", "Any")
        return f"{arrays or 'Array'}[{inner}]" if t.rank <= 1 else names.get("Any", "Any")
    if t.kind == "pointer":
        return "int"
    definition = _typeinfo.info(t.generic_def_id) if t.generic_def_id else t
    name = namer(definition)
    if name is None:
        return names.get("Any", "Any")
    if t.generic_args and not t.generic_def:
        args = ", ".join(py_type(a, namer, builtins=builtins, spell=spell, arrays=arrays) for a in t.generic_args)
        return f"{name}[{args}]"
    if t.generic_def and t.generic_args:
        return f"{name}[{', '.join(_typeinfo.info(a).name for a in t.generic_args)}]"
    return name


def result_type(
    ov: Overload, namer: Namer = short_namer, spell: Mapping[str, str] | None = None, arrays: str | None = None
) -> str:
    """What a call returns in Python: the result, then ``ref``/``out`` values, as a tuple."""
    ret = py_type(ov.ret, namer, spell=spell, arrays=arrays) if ov.ret else "None"
    outs = [py_type(p.type_id, namer, spell=spell, arrays=arrays) for p in ov.params if p.byref]
    if not outs:
        return ret
    if ret == "None":
        return outs[0] if len(outs) == 1 else f"tuple[{', '.join(outs)}]"
    return f"tuple[{', '.join([ret, *outs])}]"


def param_text(p: Param, namer: Namer = short_namer) -> str:
    text = f"{p.name}: {py_type(p.type_id, namer)}"
    if p.is_params:
        return f"*{p.name}: {py_type(_typeinfo.info(p.type_id).element, namer)}"
    if p.optional:
        text += f" = {p.default if p.default is not None else '...'}"
    return text


def signature(ov: Overload, name: str | None = None, namer: Namer = short_namer) -> str:
    """``static Max(val1: int, val2: int) -> int``; generic methods show ``[T]`` after the name."""
    params = ", ".join(param_text(p, namer) for p in ov.inputs)
    generic = f"[{', '.join(ov.generic_params)}]" if ov.generic_params else ""
    prefix = "static " if ov.static and ov.name != ".ctor" else ""
    shown = name if name is not None else ov.name
    if ov.name == ".ctor":
        return f"{shown}({params})"
    return f"{prefix}{shown}{generic}({params}) -> {result_type(ov, namer)}"

"""Calling a proxy class: ``Cls(...)`` constructs, casts to an interface, makes a delegate from a
callable, or builds an array; ``System.Int64(5)``-style casts convert through .NET."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host import typeinfo as _typeinfo
from ..host.shim import Kind, KindInt, Value
from ..values import exports as _exports
from ..values.buffers import array_from_buffer, array_from_list
from ..values.convert import from_value, to_value
from ..values.objects import forget_now, handle_of
from .catalog import class_by_name, class_for
from .exceptions import new_subclass_instance
from .signatures import Overload


def construct(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``Cls(...)``: constructor call, interface cast, delegate from a callable, or array."""
    info: _typeinfo.TypeInfo | None = cls.__dict__.get("__clr_info__")
    if info is None:
        if issubclass(cls, BaseException) and getattr(cls, "__clr_type_id__", 0) != 0:
            return new_subclass_instance(cls, args, kwargs)  # class MyError(System.Exception)
        # A Python subclass or the bare base: plain Python construction.
        return type.__call__(cls, *args, **kwargs)
    if info.kind == "delegate" and len(args) == 1 and not kwargs and callable(args[0]):
        adapt = _callable_adapter[0]
        return convert(args[0] if adapt is None else adapt(args[0], cls), info.id)
    if info.kind == "interface":
        if len(args) != 1 or kwargs:
            raise TypeError(
                f"{cls.__clr_name__} is an interface: {cls.__name__}(obj) views one .NET object as it "
                f"(got {len(args)} positional and {len(kwargs)} keyword argument(s))"
            )
        return convert(args[0], info.id, as_class=cls)
    if info.kind == "array":
        return new_array(info, args)
    if info.kind == "enum" and len(args) == 2 and isinstance(args[1], bool) and not kwargs:
        return _enum_checked(cls, args[0], allow_undefined=args[1])  # pythonnet's ShortEnum(20, True)
    if info.generic_def or info.open:
        raise TypeError(
            f"{cls.__clr_name__} is a generic type definition: give its type arguments first, "
            f"e.g. {info.display.split('[')[0]}[int](...)"
        )
    if info.static:
        raise TypeError(f"{cls.__clr_name__} is a static class and cannot be instantiated")
    if info.abstract:
        raise TypeError(f"{cls.__clr_name__} is abstract and cannot be instantiated")
    ctors: tuple[Overload, ...] = cls.__dict__.get("__clr_ctors__", ())
    if info.type_code not in ("Object", "Empty", "DBNull") and len(args) == 1 and not kwargs:
        # Int64(5), Double(meters) (op_Explicit), Decimal("1.5"): when no constructor takes
        # the argument, calling a primitive type converts, like a C# cast.
        if ctors:
            try:
                return cls.__dict__["__clr_ctor_group__"].call(None, args, kwargs)
            except TypeError:
                pass
        return convert(args[0], info.id)
    if not ctors:
        raise TypeError(f"{cls.__clr_name__} has no public constructor")
    made = cls.__dict__["__clr_ctor_group__"].call(None, args, kwargs)
    if args and isinstance(made, BaseException):
        made.args = args  # what the constructor took, as for a Python exception
    return made


def _enum_checked(cls: Any, value: Any, *, allow_undefined: bool) -> Any:
    """``Color(value, allow_undefined)`` (pythonnet's form): the enum value; with
    ``allow_undefined=False`` a value no member names raises ValueError (a ``[Flags]`` enum
    takes any combination)."""
    made = cls(value)
    info: _typeinfo.TypeInfo = cls.__dict__["__clr_info__"]
    if not allow_undefined and not info.flags:
        enum_type = class_by_name("System.Reflection.IntrospectionExtensions").GetTypeInfo(cls)
        if not class_by_name("System.Enum").IsDefined(enum_type, made):
            raise ValueError(f"{int(made)} is not a defined value of {cls.__clr_name__} (pass True to allow it)")
    return made


# Plain ints for except paths (no enum attribute lookup there).
_VOID, _OBJECT, _PYOBJECT = KindInt.VOID, KindInt.OBJECT, KindInt.PYOBJECT
_forget_now = forget_now

# How a Python callable becomes a delegate of a class: None (as it is), or pythonnet's calling
# convention under compat (placeholder arguments for out parameters). One reference, replaced
# whole; set by pyclrbridge.compat at import.
_callable_adapter: list[Callable[[Any, Any], Any] | None] = [None]


def adapt_callables(adapter: Callable[[Any, Any], Any] | None) -> None:
    """``adapter(fn, delegate_class)`` gives the callable to wrap in ``delegate_class(fn)``."""
    _callable_adapter[0] = adapter


# pythonnet's casts: System.String("abc") and System.Int32(5) stay .NET objects (one bool,
# replaced whole; switched on by pyclrbridge.compat.keep_primitive_objects, off by default).
_casts_keep_objects = [False]


def casts_keep_objects(enabled: bool) -> bool:
    """Make calling a primitive .NET type (``System.String("abc")``, ``System.Int32(5)``) give
    the .NET object, as pythonnet does (``True``), or the Python value (``False``, the default).
    Returns the previous setting."""
    previous = _casts_keep_objects[0]
    _casts_keep_objects[0] = bool(enabled)
    return previous


def convert(obj: Any, type_id: int, *, as_class: Any = None, typed: bool = False) -> Any:
    """Convert a Python value to a .NET object of ``type_id`` (a new handle). ``typed``: convert
    by the rules for a parameter of that type (sequences of numbers for T[] become one block)."""
    v = Value()
    keep: list[Any] = []
    out = Value()
    out.kind = _VOID  # stays VOID until .NET ran Convert (it writes NULL, OBJECT or the error)
    try:
        # A cast: .NET's Convert decides (System.Decimal("1.25") parses).
        to_value(obj, v, keep, type_id if typed else 0)
        _exports.call(_bridge.shim().Convert, ctypes.byref(v), type_id, ctypes.byref(out))
        if out.kind == Kind.OBJECT and as_class is not None:
            made = wrap_as(out.i, as_class)
            out.i = 0  # claimed: the proxy owns the handle
            return made
        result = from_value(out)
        out.i = 0  # claimed (see the except path)
    except BaseException:
        # Undo a hand-over that an exception cut short (a signal handler that raises can land
        # between any two calls, e.g. after .NET made a delegate for a callable but before its
        # proxy exists): a registration .NET never took is dropped, a handle no proxy owns yet
        # is freed. Inline, not in a function: a Python function checks for signals at its
        # entry, and a second alarm there would skip both. Only field reads and int compares
        # come before the C calls that drop and free.
        if out.kind == _VOID:  # .NET never ran: nothing was taken
            if v.kind == _PYOBJECT and v.i:
                _forget_now(v.i, None)
        elif out.kind == _OBJECT and out.i:
            _bridge.SHIM.FreeHandle(out.i)  # type: ignore[union-attr]  # loaded: Convert ran
        raise
    if (
        as_class is None
        and out.kind == Kind.OBJECT
        and _typeinfo.info(type_id).type_code not in ("Object", "Empty")
        and not (_casts_keep_objects[0] and not typed)
    ):
        # Primitives (System.Int64(5), System.Decimal("1.5")) come back as Python values.
        unboxed = unbox(result)
        if unboxed is not None:
            return unboxed
    return result  # null stays None, a string or number stays a Python value


def wrap_as(handle: int, cls: Any) -> Any:
    # made by an attribute read (ClrMeta.__clr_blank__): no signal check before _h is set
    if not issubclass(cls, BaseException):
        obj = cls.__clr_blank__
    elif issubclass(cls, OSError):
        obj = cls.__clr_blank_oserror__
    else:
        obj = cls.__clr_blank_error__
    obj._h = handle
    return obj


def unbox(obj: Any) -> Any:
    h = handle_of(obj)
    if h is None:
        return None
    return _exports.call_result(_bridge.shim().Unbox, h)  # VOID (not a primitive) is None


def new_array(info: _typeinfo.TypeInfo, args: tuple[Any, ...]) -> Any:
    if len(args) > 1 and all(type(a) is int for a in args):  # Array[int](3, 4): an Int32[,]
        return class_by_name("System.Array").CreateInstance(class_for(info.element), *args)
    if len(args) != 1:
        raise TypeError(f"{info.display}(...) takes a length, lengths (one per dimension) or an iterable")
    arg = args[0]
    if isinstance(arg, int):
        array_cls = class_by_name("System.Array")
        return array_cls.CreateInstance(class_for(info.element), arg)
    made = array_from_buffer(arg, info.element)  # a buffer of exactly T: one block copy
    if made is None and isinstance(arg, (list, tuple)):
        made = array_from_list(arg, info.element)  # long lists of numbers: packed block by block
    if made is not None:
        return made
    items = arg if isinstance(arg, (list, tuple, bytes, bytearray, memoryview)) else list(arg)
    return convert(items, info.id, typed=True)

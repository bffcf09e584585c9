"""Descriptors for .NET properties and fields: get and set through direct stubs or the frame."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from ..host import bridge as _bridge
from ..host.shim import KindInt as Kind
from ..host.shim import _encode_utf16
from ..values import codecs as _codecs
from ..values.convert import to_value
from ..values.objects import handle_of
from ..values.results import from_value
from ..values.targets import INTEGER_RANGES, _target
from . import direct as _direct
from . import native as _native
from .member_errors import member_error
from .meta import ClassMember

_frames_pop = _bridge.frames_pop  # the frame pool (see _bridge.acquire_frame), bound once
_frames_push = _bridge.frames_push
_header = _bridge.FRAME_HEADER.pack_into
_ArgumentError = ctypes.ArgumentError
_INT64 = Kind.INT64
_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1


_UNREAD = object()  # Property._const before a const field's first read
_IMMUTABLE = frozenset({int, float, str, bool, type(None)})  # values Property._freeze may publish
_FAILED = _direct.FAILED
_direct_failed = _direct.failed
_gil = _bridge.GilRelease  # its ``on``: take a short accessor's releasing twin (releasing_gil())


def _resolve_direct_get(member: int, instance: bool = True) -> tuple[Any, ...]:
    """``(stub, decode, twin)`` for a getter whose stub takes only the target (``instance``) or
    nothing (a static getter), else (). ``twin``: the stub releasing the GIL, taken while
    ``GilRelease.on``, when the stub keeps it (a short getter); else None."""
    found = _direct.stub(member)
    if found is None or found[1][1:] != ("@" if instance else ""):
        return ()
    return found[0], _direct.decoder(found[1]), _direct.releasing_twin(member)


def _resolve_direct_set(member: int, type_id: int, variant: int) -> tuple[Any, ...]:
    """``(setter, stub, lo, hi, twin)``: ``setter(h, value)`` sets through the direct stub and
    returns True, or returns False for a value the stub cannot take as is (the caller takes the
    frame path); for an integer property, ``lo``..``hi`` is the range ``stub(h, value)`` takes
    inline; ``twin``: the stub releasing the GIL when the stub keeps it (taken, by ``setter`` too,
    while ``GilRelease.on``), else None. ``variant`` 1: ``member`` is a field (whose id alone
    names its getter)."""
    found = _direct.stub(member, variant)
    if found is None or found[1][:2] != "v@":
        return ()
    fits = _direct.guard(found[1], (type_id,), ["value"])
    if fits is None:
        return ()
    condition, prepare, call = fits
    twin = _direct.releasing_twin(member, variant)
    lo = hi = None
    if found[1] == "v@i":
        t, _ = _target(type_id)
        if t is not None:
            lo, hi = INTEGER_RANGES[t.type_code]
    source = "".join(
        [
            "def setter(h, value):\n",
            f"    if {condition} and not _codecs.encoders:\n",
            *(f"        {line}\n" for line in prepare),
            # a short setter's stub keeps the GIL, except while releasing_gil() is on (GilRelease)
            f"        if {'(_free if _gil.on else _fn)' if twin is not None else '_fn'}"
            f"(h, {', '.join(call)}) == 0 or not _direct_failed():\n",
            "            return True\n",
            "    return False\n",
        ]
    )
    scope: dict[str, Any] = {
        "_fn": found[0],
        "_free": twin,
        "_gil": _gil,
        "_codecs": _codecs,
        "_direct_failed": _direct.failed,
        "_enc": _encode_utf16,
    }
    exec(compile(source, f"<pyclrbridge setter {member}>", "exec"), scope)  # our source: ints and fixed names
    return scope["setter"], found[0], lo, hi, twin


class Property(ClassMember):
    """A .NET property (or field, when ``field`` is set): get and set through the shim."""

    __slots__ = (
        "__name__",
        "_cls",
        "_const",
        "_direct_get",
        "_direct_set",
        "_direct_static",
        "_doc",
        "_fast_get",
        "_fast_set",
        "_get",
        "_home",
        "_owner",
        "_set",
        "_type_id",
        "field",
        "readonly",
        "static",
    )

    def __init__(
        self,
        name: str,
        owner: str,
        get: int,
        set: int,
        static: bool,
        doc: str | Callable[[], str],
        *,
        field: bool = False,
        readonly: bool = False,
        const: bool = False,
        type_id: int = 0,
    ) -> None:
        # A const field's value is compiled into its metadata and never changes: the first
        # read is kept (an immutable Python value; a lost race stores an equal one).
        self._const: Any = _UNREAD if const else None
        self.__name__ = name
        self._owner = owner
        self._get = get
        self._set = set
        self.static = static
        self.field = field
        self.readonly = readonly
        self._doc = doc
        # Member ids for the inline paths of __get__/__set__ (0: take read()/write(), which
        # also raise the errors): instance members only, never a const field.
        self._fast_get = get if get and not static and not const else 0
        self._fast_set = set if set and not static and not readonly else 0
        self._type_id = type_id
        # The class whose dict holds this field, when its value may replace it there once read
        # (a const, or a static readonly field of an immutable type: see _freeze); else None.
        self._home: Any = None
        # The class whose dict holds this descriptor while a native member may take its place
        # (proxies.native.upgrade, tried once at the first access); else None.
        self._cls: Any = None
        # Direct stubs (see _direct) of the instance getter / setter, resolved at the first
        # access through a live proxy: None until then, () when there is none. Each is
        # published in one store, as one tuple, so a racing reader sees all of it or nothing.
        self._direct_get: tuple[Any, ...] | None = None if self._fast_get else ()
        self._direct_set: tuple[Any, ...] | None = None if self._fast_set and type_id else ()
        # The static getter's stub (no target), the same way; never a const field's.
        self._direct_static: tuple[Any, ...] | None = None if get and static and not const else ()

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        doc = self._doc  # a callable builds it on first read (help()): type lookups only then
        return doc if isinstance(doc, str) else doc()

    def read(self, obj: Any) -> Any:
        if self._fast_get and obj is not None and getattr(obj, "_h", 0):
            return self.__get__(obj)  # the inline path (len(), protocol reads)
        const = self._const
        if const is not None and const is not _UNREAD:
            return const[0]
        if not self._get:
            raise AttributeError(f"{self._owner}.{self.__name__} has no getter")
        direct = self._direct_static
        if direct is None:
            self._direct_static = direct = _resolve_direct_get(self._get, instance=False)
            if self._cls is not None:
                _native.upgrade(self)
        if direct:
            fn, decode, twin = direct
            if twin is not None and _gil.on:
                fn = twin  # a short getter's stub keeps the GIL, except under releasing_gil()
            r = fn()
            if r != _FAILED or not _direct_failed():
                value = r if decode is None else decode(r)
                if self._home is not None:
                    self._freeze(value)
                return value
        value = _bridge.call_noargs(self._get, self._handle_for(obj), from_value)
        if const is _UNREAD:
            self._const = (value,)
        if self._home is not None:
            self._freeze(value)
        return value

    def _freeze(self, value: Any) -> None:
        """Put a constant's value in its class dict in place of this descriptor, so later reads
        are plain class attribute loads. Only a value that can never change: a const (compiled
        into the metadata) or a static readonly field (the runtime refuses to write one after its
        class constructor ran, even through reflection), of an immutable Python type, and only
        while no user codec could make the conversion depend on when it ran. The metaclass keeps
        refusing assignment and deletion (``__clr_members__``). A lost race stores an equal value."""
        home = self._home
        if type(value) in _IMMUTABLE and not _codecs.encoders and not _codecs.decoders:
            self._home = None
            type.__setattr__(home, self.__name__, value)

    def forget_direct_stubs(self) -> None:
        """Take the general path from now on (in a forked child: see proxies.native)."""
        self._direct_get = self._direct_set = self._direct_static = ()

    def _handle_for(self, obj: Any) -> int:
        """The handle an access of ``obj`` goes to (0 for a static member)."""
        if self.static:
            return 0
        h = handle_of(obj)
        if h is None:
            raise member_error(f"{self._owner}.{self.__name__} is an instance member")
        if not h:
            raise ValueError(f"{self._owner}.{self.__name__}: the .NET object was released (pyclrbridge.release)")
        return h

    def set_static(self, value: Any) -> None:
        self.write(None, value)

    def write(self, obj: Any, value: Any) -> None:
        kind = "field" if self.field else "property"
        if self.readonly or not self._set:
            raise member_error(f"{kind} {self._owner}.{self.__name__} is read-only")
        target = self._handle_for(obj)
        frame = _bridge.acquire_frame(2)
        try:
            keep: list[Any] = []  # alive until the call returns: memory the slot points at
            try:
                to_value(value, frame.slots[0], keep)
                _bridge.call_frame(frame, self._set, target, 1, 1)
            except BaseException:
                frame.abandon(frame.buffer, 1)  # an id no call took (see bridge.Frame.abandon)
                raise
        finally:
            _bridge.release_frame(frame)

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        # The hot path (an instance property of a live proxy) inlined: one Python frame and
        # one foreign call to the getter's direct stub; without a stub, the pooled frame.
        # Everything else goes through read().
        try:
            direct = self._direct_get
            if direct:
                try:
                    h = obj._h  # (None, for a class-level access, has none)
                except AttributeError:
                    h = 0
                if h:
                    fn, decode, twin = direct
                    if twin is not None and _gil.on:
                        fn = twin  # a short getter's stub keeps the GIL, except under releasing_gil()
                    r = fn(h)
                    if r != -0x6000_0000_0000_0000 or not _direct_failed():  # _direct.FAILED, a constant
                        return r if decode is None else decode(r)
                    # An instance of a Python subclass: the frame path below calls the base getter.
            member = self._fast_get
            if member and obj is not None:
                try:
                    h = obj._h
                except AttributeError:
                    h = 0
                if h:
                    if direct is None:
                        self._direct_get = _resolve_direct_get(member)
                        if self._cls is not None:
                            _native.upgrade(self)
                    try:
                        frame = _frames_pop()
                    except IndexError:
                        frame = _bridge.Frame()
                    try:
                        _header(frame.buffer, 0, member, 0, h, 1)
                        if frame.call(frame.buffer) != 0:
                            _bridge.raise_error(frame.error)  # claiming zeroes the handle there
                        result = frame.slots[0]
                        if result.kind == _INT64:  # the commonest result, decoded inline
                            return result.i
                        return from_value(result)
                    finally:
                        error = frame.error  # an error handle no exception took (a signal cut the raise short)
                        if error.kind == _bridge.OBJECT_KIND and error.i:  # only field reads before the free
                            unclaimed = error.i
                            error.i = 0
                            frame.free(unclaimed)
                        _frames_push(frame)
            if obj is None and not self.static:
                return self
            return self.read(obj)
        except _ArgumentError as refused:  # at the recursion limit: see bridge.argument_error
            raise _bridge.argument_error(refused) from None

    def __set__(self, obj: Any, value: Any) -> None:
        try:
            direct = self._direct_set
            if direct:
                try:
                    h = obj._h
                except AttributeError:
                    h = 0
                if h:
                    setter, fn, lo, hi, twin = direct
                    if twin is not None and _gil.on:
                        fn = twin  # a short setter's stub keeps the GIL, except under releasing_gil()
                    if lo is None:
                        if setter(h, value):
                            return
                    elif (
                        type(value) is int
                        and lo <= value <= hi
                        and not _codecs.encoders  # an integer, inline
                        and (fn(h, value) == 0 or not _direct_failed())
                    ):
                        return
            member = self._fast_set
            if member:
                try:
                    h = obj._h
                except AttributeError:
                    h = 0
                if h:
                    if direct is None:
                        self._direct_set = _resolve_direct_set(member, self._type_id, 1 if self.field else 0)
                        if self._cls is not None:
                            _native.upgrade(self)
                    try:
                        frame = _frames_pop()
                    except IndexError:
                        frame = _bridge.Frame()
                    keep: list[Any] = []  # alive until the call returns: memory the slot points at
                    try:
                        slot = frame.slots[0]
                        t = type(value)
                        if t is int and _I32_MIN <= value <= _I32_MAX and not _codecs.encoders:
                            slot.kind = _INT64  # what to_value writes for any int that fits
                            slot.i = value
                        else:
                            to_value(value, slot, keep)
                        _header(frame.buffer, 0, member, 1, h, 1)
                        if frame.call(frame.buffer) != 0:
                            _bridge.raise_error(frame.error)  # claiming zeroes the handle there
                        return
                    except BaseException:
                        frame.abandon(frame.buffer, 1)  # an id no call took (see bridge.Frame.abandon)
                        raise
                    finally:
                        error = frame.error  # an error handle no exception took (a signal cut the raise short)
                        if error.kind == _bridge.OBJECT_KIND and error.i:  # only field reads before the free
                            unclaimed = error.i
                            error.i = 0
                            frame.free(unclaimed)
                        _frames_push(frame)
            self.write(obj, value)
        except _ArgumentError as refused:  # at the recursion limit: see bridge.argument_error
            raise _bridge.argument_error(refused) from None

    def __delete__(self, obj: Any) -> None:
        kind = "field" if self.field else "property"
        raise member_error(f"cannot delete the .NET {kind} {self._owner}.{self.__name__}")

    def __repr__(self) -> str:
        return f"<.NET {'field' if self.field else 'property'} {self._owner}.{self.__name__}>"

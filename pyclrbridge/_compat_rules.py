"""The process-wide switch of every pythonnet rule `pyclrbridge.compat` sets: on at its import,
off for a process (such as a test run) that goes on with pyclrbridge's native rules."""

from __future__ import annotations

from . import _compat_calls, _compat_classes, _compat_formats, _compat_members, _compat_views
from .proxies import binder as _binder
from .proxies import construction as _construction
from .proxies import events as _events
from .proxies import member_errors as _member_errors
from .proxies import protected as _protected
from .values import convert as _convert
from .values import scalars as _scalars


def pythonnet_rules(enabled: bool) -> None:
    """Switch every process-wide pythonnet rule of `pyclrbridge.compat` on (what importing it does) or
    off (pyclrbridge's native rules; for a process, such as a test run, that goes on natively).
    The additions that change nothing native (accessor methods, number protocols of kept
    primitives, ``Overloads`` on classes, the engine's refusal) stay."""
    _binder.accept_out_placeholders(enabled)  # pythonnet's Int32.TryParse("42", 0)
    _binder.overflow_when_out_of_every_range(enabled)  # pythonnet's OverflowError for IntPtr(2**64)
    _protected.open_protected(enabled)  # pythonnet reaches protected members on every object
    _events.refuse_unknown_removal(enabled)  # pythonnet's ValueError for -= of a handler never added
    _scalars.accept_int_for_char(enabled)  # pythonnet's MethodTest.Overloaded.__overloads__[Char](65)
    _member_errors.pythonnet_member_errors(enabled)  # pythonnet's TypeError for read-only members
    _construction.casts_keep_objects(enabled)  # pythonnet's System.String("x") is a .NET String
    _construction.adapt_callables(_compat_calls.out_placeholders if enabled else None)
    _convert.adapt_delegate_callables(_compat_calls.out_placeholders_for_parameter if enabled else None)
    _compat_formats.pythonnet_type_names(enabled)
    _compat_formats.pythonnet_reprs(enabled)
    _compat_calls.pythonnet_enums(enabled)
    _compat_calls.pythonnet_overrides(enabled)  # out placeholders for Python overrides
    _compat_formats.pythonnet_docs(enabled)
    _compat_members.member_errors_on_objects(enabled)
    _compat_views.pythonnet_views(enabled)  # interface-typed results as views of the interface
    _compat_members.pythonnet_deletion(enabled)  # del list[i] calls RemoveAt; an array refuses it
    _compat_members.pythonnet_iteration(enabled)  # a dictionary iterates its pairs
    _compat_classes.adapt_classes(enabled)  # last: the class rules above adapt each class

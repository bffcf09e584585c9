"""pythonnet's declarations of .NET signatures on Python members under `pyclrbridge.compat`:
`clrmethod` and `clrproperty`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class clrmethod:
    """pythonnet's decorator declaring the .NET signature of a Python method
    (``@clr.clrmethod(int, [str])``). The method stays a Python method; the declared types are
    kept on it (``_clr_return_type_``, ``_clr_arg_types_``, ``_clr_method_name_``), and a .NET
    subclass's emitted type declares a public method of that signature calling it."""

    def __init__(
        self, return_type: Any, arg_types: Any, clrname: str | None = None, func: Callable[..., Any] | None = None
    ) -> None:
        self._clr_return_type_ = return_type
        self._clr_arg_types_ = list(arg_types)
        self._clr_method_name_ = clrname
        self.__func = func

    def __call__(self, func: Callable[..., Any]) -> clrmethod:
        self.__func = func
        self._clr_method_name_ = self._clr_method_name_ or func.__name__
        self.__name__ = func.__name__
        self.__doc__ = func.__doc__
        return self

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        func = self.__func
        if func is None:
            raise TypeError("clrmethod was not applied to a function")
        return func.__get__(instance, owner)


class clrproperty:
    """pythonnet's property with a declared .NET type (``@clr.clrproperty(int)``, ``.setter``);
    a .NET subclass's emitted type declares a public property of that type calling it."""

    def __init__(
        self, type_: Any, fget: Callable[[Any], Any] | None = None, fset: Callable[[Any, Any], None] | None = None
    ) -> None:
        self._clr_property_type_ = type_
        self.fget = fget
        self.fset = fset

    def __call__(self, fget: Callable[[Any], Any]) -> clrproperty:
        return self.getter(fget)

    def getter(self, fget: Callable[[Any], Any]) -> clrproperty:
        self.fget = fget
        return self

    def setter(self, fset: Callable[[Any, Any], None]) -> clrproperty:
        self.fset = fset
        return self

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        if self.fget is None:
            raise AttributeError("this clrproperty has no getter")
        return self.fget(instance)

    def __set__(self, instance: Any, value: Any) -> None:
        if self.fset is None:
            raise AttributeError("this clrproperty has no setter")
        self.fset(instance, value)

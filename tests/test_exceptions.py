""".NET exceptions seen from Python (Fixtures.Exceptions.Thrower and the BCL): the Python class
for the .NET type, ClrError plus the matching builtin, message, notes, cause, .clr_exception."""

from __future__ import annotations

import errno
from typing import Any

import pytest

import pyclrbridge


@pytest.fixture(scope="module", autouse=True)
def _fixtures(fixtures: Any) -> Any:
    return fixtures


def _raised(method: str, *args: Any) -> BaseException:
    from Fixtures.Exceptions import Thrower

    with pytest.raises(pyclrbridge.ClrError) as info:
        getattr(Thrower, method)(*args)
    return info.value


# ---- the builtin each .NET exception also is ---------------------------------------------


@pytest.mark.parametrize(
    ("method", "clr_name", "builtin", "message"),
    [
        ("Argument", "System.ArgumentException", ValueError, "bad argument (Parameter 'x')"),
        ("ArgumentNull", "System.ArgumentNullException", ValueError, "x must not be null (Parameter 'x')"),
        ("Format", "System.FormatException", ValueError, "bad format"),
        ("KeyNotFound", "System.Collections.Generic.KeyNotFoundException", KeyError, "key not found"),
        ("IndexOutOfRange", "System.IndexOutOfRangeException", IndexError, "index outside the bounds"),
        (
            "ArgumentOutOfRange",
            "System.ArgumentOutOfRangeException",
            IndexError,
            "index out of range (Parameter 'index')",
        ),
        ("InvalidCast", "System.InvalidCastException", TypeError, "bad cast"),
        ("Overflow", "System.OverflowException", OverflowError, "value overflowed"),
        ("DivideByZero", "System.DivideByZeroException", ZeroDivisionError, "divided by zero"),
        ("FileNotFound", "System.IO.FileNotFoundException", FileNotFoundError, "file is missing"),
        ("IO", "System.IO.IOException", OSError, "disk on fire"),
        ("NotImplemented", "System.NotImplementedException", NotImplementedError, "not implemented yet"),
        ("NotSupported", "System.NotSupportedException", NotImplementedError, "not supported here"),
        ("Timeout", "System.TimeoutException", TimeoutError, "took too long"),
    ],
)
def test_dotnet_exception_is_its_class_a_clr_error_and_the_matching_builtin(
    method: str,
    clr_name: str,
    builtin: type[BaseException],
    message: str,
) -> None:
    exc = _raised(method)
    assert type(exc).__clr_name__ == clr_name
    assert isinstance(exc, pyclrbridge.ClrError)
    assert isinstance(exc, builtin)
    assert str(exc) == message


def test_builtin_except_clause_catches_the_dotnet_exception() -> None:
    from Fixtures.Exceptions import Thrower

    with pytest.raises(KeyError):
        Thrower.KeyNotFound()


def test_exception_without_a_builtin_is_only_a_clr_error() -> None:
    exc = _raised("InvalidOperation")
    assert isinstance(exc, pyclrbridge.ClrError)
    assert not isinstance(exc, (ValueError, TypeError, RuntimeError, OSError))
    assert str(exc) == "invalid operation"


def test_exception_class_is_the_class_of_its_dotnet_type() -> None:
    from System import FormatException

    assert type(_raised("Format")) is FormatException


def test_except_clause_with_the_dotnet_class_catches_it() -> None:
    from Fixtures.Exceptions import Thrower
    from System import ArgumentException

    with pytest.raises(ArgumentException):
        Thrower.ArgumentNull()  # ArgumentNullException derives from ArgumentException


def test_user_exception_classes_follow_dotnet_inheritance() -> None:
    from Fixtures.Exceptions import DerivedFixtureException, FixtureException

    exc = _raised("Derived", 3)
    assert type(exc) is DerivedFixtureException
    assert isinstance(exc, FixtureException)
    assert issubclass(FixtureException, Exception)


# ---- message, notes, cause, the .NET object ------------------------------------------------


def test_message_is_the_dotnet_message() -> None:
    exc = _raised("Custom", 7, "it broke")
    assert exc.args == ("it broke",)
    assert str(exc) == "it broke"


def test_dotnet_stack_trace_is_in_the_notes() -> None:
    exc = _raised("Deep", 3)
    notes = "\n".join(exc.__notes__)
    assert ".NET stack trace (System.InvalidOperationException)" in notes
    assert notes.count("DeepFrame") == 4


def test_stack_trace_note_leaves_out_the_bridge_frames() -> None:
    notes = "\n".join(_raised("Format").__notes__)
    assert "Fixtures.Exceptions.Thrower.Format" in notes
    assert "PyClrBridge.Shim" not in notes
    assert "lambda_method" not in notes


def test_inner_exception_becomes_the_cause() -> None:
    from System import FormatException, InvalidOperationException

    exc = _raised("Wrapped")
    assert type(exc) is InvalidOperationException
    assert type(exc.__cause__) is FormatException
    assert str(exc.__cause__) == "inner format failure"
    assert isinstance(exc.__cause__, ValueError)


def test_clr_exception_gives_the_dotnet_object_with_its_members() -> None:
    exc = _raised("Custom", 42)
    clr = exc.clr_exception  # type: ignore[attr-defined]
    assert clr.Code == 42
    assert clr.GetType().FullName == "Fixtures.Exceptions.FixtureException"
    assert clr.Message == "custom failure"


def test_exception_members_are_reachable_on_the_exception_itself() -> None:
    exc = _raised("Custom", 5)
    assert exc.Code == 5  # type: ignore[attr-defined]


def test_file_not_found_carries_filename_and_errno() -> None:
    exc = _raised("FileNotFound")
    assert isinstance(exc, FileNotFoundError)
    assert exc.filename == "/no/such/file.txt"
    assert exc.errno == errno.ENOENT


def test_repr_shows_type_and_message() -> None:
    assert repr(_raised("Format")) == "<System.FormatException: bad format>"


def test_aggregate_exception_has_its_first_inner_exception_as_cause() -> None:
    exc = _raised("Aggregate")
    assert type(exc).__clr_name__ == "System.AggregateException"
    assert type(exc.__cause__).__clr_name__ == "System.FormatException"


# ---- real runtime faults and framework code ------------------------------------------------


def test_runtime_division_by_zero_is_zero_division_error() -> None:
    from Fixtures.Exceptions import Thrower

    with pytest.raises(ZeroDivisionError, match="Attempted to divide by zero"):
        Thrower.Divide(1, 0)


def test_checked_arithmetic_overflow_is_overflow_error() -> None:
    from Fixtures.Exceptions import Thrower

    with pytest.raises(OverflowError):
        Thrower.CheckedAdd(2**31 - 1, 1)


def test_null_reference_is_a_clr_error() -> None:
    from Fixtures.Exceptions import Thrower
    from System import NullReferenceException

    with pytest.raises(NullReferenceException):
        Thrower.NullReference()


def test_framework_parse_failure_is_value_error() -> None:
    from System import Int32

    with pytest.raises(ValueError, match="not in a correct format"):
        Int32.Parse("forty-two")


def test_missing_dictionary_key_in_the_bcl_is_key_error() -> None:
    from System.Collections.Generic import Dictionary

    d = Dictionary[str, int]()
    with pytest.raises(KeyError):
        d["missing"]


def test_bcl_file_not_found_is_file_not_found_error(tmp_path: Any) -> None:
    from System.IO import File

    missing = str(tmp_path / "nope.txt")
    with pytest.raises(FileNotFoundError) as info:
        File.ReadAllText(missing)
    assert info.value.filename == missing


def test_constructor_exception_propagates() -> None:
    from Fixtures.Exceptions import Faulty

    with pytest.raises(ValueError, match="constructor failed"):
        Faulty(True)


def test_property_getter_exception_propagates() -> None:
    from Fixtures.Exceptions import Faulty

    with pytest.raises(pyclrbridge.ClrError, match="getter failed"):
        _ = Faulty(False).Value


def test_property_setter_exception_propagates() -> None:
    from Fixtures.Exceptions import Faulty

    f = Faulty(False)
    with pytest.raises(IndexError, match="must be >= 0"):
        f.Positive = -1
    assert f.Positive == 0


# ---- Python exceptions through .NET ------------------------------------------------------


def test_python_exception_in_a_callback_reaches_dotnet_as_an_exception() -> None:
    from Fixtures.Exceptions import Thrower

    def fail() -> None:
        raise LookupError("from python")

    assert Thrower.Catch(fail).endswith("from python")


def test_python_exception_passing_through_dotnet_comes_back_as_itself() -> None:
    from Fixtures.Exceptions import Thrower

    original = LookupError("round trip")

    def fail() -> None:
        raise original

    with pytest.raises(LookupError) as info:
        Thrower.Passthrough(fail)
    assert info.value is original


def test_many_exceptions_do_not_leak_handles(clr: Any) -> None:
    from Fixtures.Exceptions import Thrower

    for _ in range(50):
        with pytest.raises(ValueError):
            Thrower.Format()
    import gc

    gc.collect()
    before = clr.stats()["live_handles"]
    for _ in range(200):
        with pytest.raises(ValueError):
            Thrower.Format()
    gc.collect()
    assert clr.stats()["live_handles"] - before < 20

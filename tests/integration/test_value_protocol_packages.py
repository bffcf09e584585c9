"""Conversion operators of a real library as Python's conversions (issue 29.8): Newtonsoft's
``JToken`` declares ``explicit operator long(JToken)``, ``double``, ``byte[]``..."""

from __future__ import annotations

from typing import Any


def test_newtonsoft_jvalue_converts_with_int_float_bytes(script: Any) -> None:
    out = script("""
        import operator
        clr.add_package("Newtonsoft.Json", "13.0.3", progress=False)
        from Newtonsoft.Json.Linq import JObject, JValue
        from System import UInt64

        doc = JObject.Parse('{"n": 5, "x": 2.5, "big": 18446744073709551615, "s": "text", "f": false}')
        print(int(doc["n"]), float(doc["x"]), float(doc["n"]), str(doc["s"]))
        print(int(JValue(5)) + 1, int(doc["big"]))  # above Int64.MaxValue: through UInt64
        print(bytes(JValue(bytes([1, 2, 250]))).hex())
        try:
            int(doc["s"])
        except ValueError as e:  # a FormatException, as int("text")
            print(type(e).__name__)
        try:
            operator.index(doc["n"])  # only explicit conversions: C# would not index with it
        except TypeError:
            print("no index")
        print(bool(doc["f"]), bool(doc["s"]))  # explicit bool is not truth (C#'s if (token) does not compile)
    """)
    assert out.splitlines() == [
        "5 2.5 5.0 text",
        "6 18446744073709551615",
        "0102fa",
        "FormatException",
        "no index",
        "True True",
    ]

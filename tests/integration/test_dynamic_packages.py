"""Dynamic objects other people designed: Json.NET's JObject (an IDynamicMetaObjectProvider),
used from Python as C#'s ``dynamic`` uses it."""

from __future__ import annotations

from .conftest import run_script


def test_jobject_properties_are_attributes() -> None:
    out = run_script("""
        clr.add_package("Newtonsoft.Json", "13.0.3", progress=False)
        from Newtonsoft.Json import Formatting
        from Newtonsoft.Json.Linq import JObject

        j = JObject.Parse('{"a": 1, "name": "Ada", "nothing": null, "langs": ["en", "fr"]}')
        print(j.a.Value, j.name.Value, j.langs.Count, j.nothing.Type)  # ((dynamic)j).a
        j.b = 2  # ((dynamic)j).b = 2
        try:
            del j.langs  # JObject has no dynamic delete
        except AttributeError as e:
            print("refused", "'langs'" in str(e))
        print(hasattr(j, "missing"), getattr(j, "missing", "default"))
        print(j.Count, j.Type)  # real members win: JObject.Count, JToken.Type
        print([n for n in dir(j) if n in ("a", "b", "name", "langs", "Count")])
        print(j.ToString(getattr(Formatting, "None")))  # Formatting.None: a Python keyword
    """)
    assert out.splitlines() == [
        "1 Ada 2 Null",
        "refused True",
        "False default",
        "5 Object",
        "['Count', 'a', 'b', 'langs', 'name']",
        '{"a":1,"name":"Ada","nothing":null,"langs":["en","fr"],"b":2}',
    ]

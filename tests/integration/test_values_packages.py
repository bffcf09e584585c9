"""Python values for the shapes real packages take: a ``dict`` for
``IEnumerable<KeyValuePair<K, V>>`` (Microsoft.Extensions.Configuration), ``bytes`` for
``ReadOnlyMemory<byte>`` (MessagePack)."""

from __future__ import annotations

from .conftest import run_script


def test_configuration_in_memory_collection_from_a_dict() -> None:
    out = run_script("""
        clr.add_package("Microsoft.Extensions.Configuration", "9.0.0", progress=False)
        from Microsoft.Extensions.Configuration import ConfigurationBuilder
        import Microsoft.Extensions.Configuration  # MemoryConfigurationBuilderExtensions as extension methods

        config = ConfigurationBuilder().AddInMemoryCollection({"a": "1", "section:b": "two"}).Build()
        print(config["a"], config.GetSection("section")["b"], config["missing"])
    """)
    assert out.split() == ["1", "two", "None"]

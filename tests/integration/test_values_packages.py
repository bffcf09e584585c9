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


def test_messagepack_deserializes_python_bytes_through_readonlymemory() -> None:
    out = run_script("""
        clr.add_package("MessagePack", "2.5.307", progress=False)
        from System import Int32, String, Array
        from MessagePack import MessagePackSerializer

        # Deserialize<T>(ReadOnlyMemory<byte>, options, cancellationToken): Python buffers, copied for .NET
        print(MessagePackSerializer.Deserialize[String](b"\\xa5hello"))
        print(MessagePackSerializer.Deserialize[Int32](bytearray(b"\\xcd\\x01\\x00")))
        packed = bytes(MessagePackSerializer.Serialize[Array[Int32]](Array[Int32]([1, 2, 300])))
        print(packed.hex(), list(MessagePackSerializer.Deserialize[Array[Int32]](memoryview(packed))))
    """)
    assert out.splitlines() == ["hello", "256", "930102cd012c [1, 2, 300]"]

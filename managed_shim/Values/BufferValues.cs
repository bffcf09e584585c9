using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>Python buffers as .NET arrays (<see cref="ValueKind.Buffer"/>), and the arrays lent from
/// writable Python memory (<see cref="ValueKind.BytesOut"/>, <see cref="ValueKind.BufferOut"/>):
/// what .NET wrote into them goes back into that memory after the call.</summary>
internal static unsafe class BufferValues
{
    /// <summary>After a call: what .NET wrote into the array made from a BytesOut/BufferOut
    /// argument goes back into the Python memory it came from (Stream.Read into a bytearray).</summary>
    public static void CopyBack(in Value v, object? converted)
    {
        if (TakeLent(v, converted) is Array array) CopyInto(array, v.Payload);
    }

    /// <summary>The array made from the BytesOut/BufferOut argument <paramref name="v"/>, when
    /// <paramref name="converted"/> is still that very array (then it is no longer lent: its
    /// writes are to be copied back once, by the caller); null otherwise.</summary>
    public static Array? TakeLent(in Value v, object? converted)
    {
        if (v.Kind != ValueKind.BytesOut && v.Kind != ValueKind.BufferOut) return null;
        // A byte[] made from the buffer may reach the method wrapped (Memory<byte>, ArraySegment<byte>).
        Array? array = converted switch
        {
            Array a => a,
            Memory<byte> m when MemoryMarshal.TryGetArray<byte>(m, out ArraySegment<byte> segment) => segment.Array,
            ReadOnlyMemory<byte> m when MemoryMarshal.TryGetArray(m, out ArraySegment<byte> segment) => segment.Array,
            ArraySegment<byte> segment => segment.Array,
            _ => null,
        };
        if (array == null || array.Rank != 1 || array.Length != v.Extra || v.Extra == 0) return null;
        if (!_lent.TryGetValue(array, out StrongBox<long>? from) || from.Value != v.Payload) return null;
        _lent.Remove(array);
        return array.GetType().GetElementType()!.IsPrimitive ? array : null;
    }

    /// <summary>Copies a primitive array over the Python memory at <paramref name="address"/>
    /// (the buffer the array was made from, of the same byte length).</summary>
    public static void CopyInto(Array array, long address)
    {
        long bytes = Buffer.ByteLength(array);
        GCHandle pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        try
        {
            Buffer.MemoryCopy((void*)pin.AddrOfPinnedObject(), (void*)address, bytes, bytes);
        }
        finally { pin.Free(); }
    }

    internal static object FromBuffer(in Value v, Type target)
    {
        Type element = CollectionValues.ElementTypeFor(target, out bool makeArray, out bool makeList);
        Array array = Array.CreateInstance(element, v.Extra);
        if (v.Extra > 0)
        {
            long bytes = Buffer.ByteLength(array); // throws for non-primitive elements
            GCHandle pin = GCHandle.Alloc(array, GCHandleType.Pinned);
            try
            {
                Buffer.MemoryCopy((void*)v.Payload, (void*)pin.AddrOfPinnedObject(), bytes, bytes);
            }
            finally { pin.Free(); }
        }
        if (makeArray)
        {
            if (v.Kind == ValueKind.BufferOut) Lent(array, v.Payload);
            return array;
        }
        if (makeList) return Activator.CreateInstance(typeof(List<>).MakeGenericType(element), array)!;
        return Activator.CreateInstance(typeof(HashSet<>).MakeGenericType(element), array)!;
    }

    /// <summary>Arrays made from a writable Python buffer -> that buffer's address. CopyBack
    /// copies an argument back only when it is still the very array made from the caller's
    /// buffer: a <c>ref</c> parameter .NET pointed at another array leaves the buffer as it was
    /// (the new array comes back as the ref result). A ConditionalWeakTable: thread-safe, and an
    /// entry dies with its array.</summary>
    private static readonly ConditionalWeakTable<Array, StrongBox<long>> _lent = new();

    internal static void Lent(Array array, long address) => _lent.AddOrUpdate(array, new StrongBox<long>(address));
}

using System;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// Pinned views of one-dimensional primitive arrays, for Python's buffer protocol. Python owns
/// each pin and releases it exactly once; the live set here makes the release an atomic claim
/// (a second release of the same pin is refused, not executed).
/// </summary>
internal static class Pins
{
    // Owner: this class. Concurrent because any Python thread pins and unpins; TryRemove is the
    // atomic claim that stops two frees of one pin.
    private static readonly ConcurrentDictionary<IntPtr, byte> _live = new();
    // Counters (stats): no lock, only Interlocked increments and reads.
    private static long _pinned;
    private static long _released;

    public static int Live => _live.Count;
    public static long Pinned => Interlocked.Read(ref _pinned);
    public static long Released => Interlocked.Read(ref _released);

    /// <summary>The element's TypeCode for the arrays Python can view (0: not viewable).</summary>
    public static int ElementCode(Array a)
    {
        Type t = a.GetType();
        if (!t.IsSZArray) return 0;
        Type e = t.GetElementType()!;
        if (e.IsEnum) return 0;
        TypeCode c = Type.GetTypeCode(e);
        return c is >= TypeCode.Boolean and <= TypeCode.Double ? (int)c : 0;
    }

    public static IntPtr Pin(Array a, out IntPtr address)
    {
        GCHandle h = GCHandle.Alloc(a, GCHandleType.Pinned);
        address = h.AddrOfPinnedObject();
        IntPtr id = GCHandle.ToIntPtr(h);
        _live[id] = 0;
        Interlocked.Increment(ref _pinned);
        return id;
    }

    /// <summary>A new T[] holding a copy of <paramref name="count"/> elements at <paramref name="source"/>
    /// (all zero when <paramref name="source"/> is null: Python then fills it block by block).</summary>
    public static unsafe Array Copy(void* source, long count, int typeCode) => (TypeCode)typeCode switch
    {
        TypeCode.Boolean => Make<bool>(source, count),
        TypeCode.Char => Make<char>(source, count),
        TypeCode.SByte => Make<sbyte>(source, count),
        TypeCode.Byte => Make<byte>(source, count),
        TypeCode.Int16 => Make<short>(source, count),
        TypeCode.UInt16 => Make<ushort>(source, count),
        TypeCode.Int32 => Make<int>(source, count),
        TypeCode.UInt32 => Make<uint>(source, count),
        TypeCode.Int64 => Make<long>(source, count),
        TypeCode.UInt64 => Make<ulong>(source, count),
        TypeCode.Single => Make<float>(source, count),
        TypeCode.Double => Make<double>(source, count),
        _ => throw new ArgumentException($"no array element type for TypeCode {typeCode}"),
    };

    private static unsafe T[] Make<T>(void* source, long count) where T : unmanaged
    {
        if (source == null) return new T[checked((int)count)];
        // Uninitialized: every element is overwritten by the one block copy below.
        T[] a = GC.AllocateUninitializedArray<T>(checked((int)count));
        long bytes = count * sizeof(T);
        if (bytes > 0)
            fixed (T* dst = a) Buffer.MemoryCopy(source, dst, bytes, bytes);
        return a;
    }

    public static bool Unpin(IntPtr id)
    {
        if (!_live.TryRemove(id, out _)) return false;
        GCHandle.FromIntPtr(id).Free();
        Interlocked.Increment(ref _released);
        return true;
    }
}

public static unsafe partial class Exports
{
    /// <summary>
    /// Pins a one-dimensional primitive array. Out: the pin id (release it with
    /// <see cref="ArrayUnpin"/>), the address of element 0, the element count and the element's
    /// TypeCode. Fails (InvalidCastException) for arrays whose memory Python cannot view.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ArrayPin(long handle, long* pin, long* address, long* length, int* typeCode, Value* error)
    {
        HeldCalls.Enter();  // called with the GIL held (host/shim.py SHORT_EXPORTS)
        try
        {
            object o = Handles.Target(handle);
            if (o is not Array a) throw new InvalidCastException($"{Signatures.TypeName(o.GetType())} is not an array");
            int code = Pins.ElementCode(a);
            if (code == 0)
                throw new InvalidCastException(
                    $"{Signatures.TypeName(a.GetType())} has no buffer: only one-dimensional arrays of primitive numbers, Boolean or Char do");
            *pin = (long)Pins.Pin(a, out IntPtr addr);
            *address = (long)addr;
            *length = a.LongLength;
            *typeCode = code;
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
        finally { HeldCalls.Exit(); }
    }

    /// <summary>
    /// A new one-dimensional array of the TypeCode's element type, filled from native memory in one
    /// block copy (a Python buffer: bytes, bytearray, array.array, memoryview); all zero when
    /// <paramref name="data"/> is null (Python fills it with <see cref="ArrayCopy"/>).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ArrayFromBuffer(void* data, long count, int typeCode, Value* result, Value* error)
    {
        try
        {
            Array a = Pins.Copy(data, count, typeCode);
            result->Kind = ValueKind.Object;
            result->Payload = Handles.Alloc(a);
            result->Extra = TypeCatalog.IdOf(a.GetType());
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    /// <summary>Releases a pin: 1 when it was live, 0 when it was already released (nothing done).</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ArrayUnpin(long pin)
    {
        HeldCalls.Enter();  // called with the GIL held (host/shim.py SHORT_EXPORTS)
        try { return Pins.Unpin((IntPtr)pin) ? 1 : 0; }
        catch { return 0; }
        finally { HeldCalls.Exit(); }
    }

    /// <summary>Pins alive now, pins taken and released since start.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ArrayPinStats(long* live, long* pinned, long* released)
    {
        *live = Pins.Live;
        *pinned = Pins.Pinned;
        *released = Pins.Released;
        return 0;
    }
}

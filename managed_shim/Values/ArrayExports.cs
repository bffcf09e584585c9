using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>
/// Element access and bulk copies for .NET arrays seen from Python: one call per element
/// (converted to the element type) or one block copy for arrays of primitives.
/// </summary>
public static unsafe partial class Exports
{
    private static Array ArrayOf(long handle) =>
        Handles.Target(handle) as Array ?? throw new InvalidCastException("the object is not a .NET array");

    private static long[] Indices(long* indices, int rank) => new ReadOnlySpan<long>(indices, rank).ToArray();

    /// <summary>The element count of an array (every dimension's elements for <c>T[,]</c>):
    /// <c>len()</c> and the block iteration read it without a member call.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ArrayLength(long handle, long* length, Value* error)
    {
        HeldCalls.Enter();  // called with the GIL held (host/shim.py SHORT_EXPORTS)
        try
        {
            *length = ArrayOf(handle).LongLength;
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
        finally { HeldCalls.Exit(); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ArrayGet(long handle, long* indices, int rank, Value* result, Value* error)
    {
        try
        {
            object? item = ArrayOf(handle).GetValue(Indices(indices, rank));
            Arena.Reset();
            Values.FromClr(item, result);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ArraySet(long handle, long* indices, int rank, Value* value, Value* error)
    {
        int read = -1;  // 0 once the value is being read (see Unsent.Settle)
        try
        {
            Array array = ArrayOf(handle);
            // A list or dict .NET refuses hands back the Python objects in it it never took.
            var converted = new object?[1];
            read = 0;
            Callbacks.ConvertResults(value, converted, array.GetType().GetElementType()!, Type.EmptyTypes);
            array.SetValue(converted[0], Indices(indices, rank));
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
        finally { Unsent.Settle(value, 1, read); }
    }

    /// <summary>
    /// Converts <paramref name="count"/> elements from flat index <paramref name="start"/> of a
    /// one-dimensional array into <paramref name="results"/> (strings in this thread's arena,
    /// objects as new handles): one call per block instead of one per element.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ArrayRead(long handle, long start, int count, Value* results, Value* error)
    {
        try
        {
            Array array = ArrayOf(handle);
            if (array.Rank != 1) throw new ArgumentException("ArrayRead reads one-dimensional arrays");
            if (start < 0 || count < 0 || start + count > array.LongLength)
                throw new ArgumentOutOfRangeException(nameof(start), $"elements {start}..{start + count} are outside an array of {array.LongLength}");
            Arena.Reset();
            int lower = array.GetLowerBound(0);
            for (int i = 0; i < count; i++) Values.FromClr(array.GetValue(lower + start + i), results + i);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    /// <summary>
    /// Copies <paramref name="count"/> elements starting at flat index <paramref name="start"/>
    /// between an array of primitives and native memory: out of the array when
    /// <paramref name="intoArray"/> is 0, into it otherwise. One block copy.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ArrayCopy(long handle, long start, long count, void* buffer, int intoArray, Value* error)
    {
        HeldCalls.Enter();  // called with the GIL held (host/shim.py SHORT_EXPORTS)
        try
        {
            Array array = ArrayOf(handle);
            if (!array.GetType().GetElementType()!.IsPrimitive)
                throw new ArgumentException($"{Signatures.TypeName(array.GetType())} is not an array of primitives");
            if (start < 0 || count < 0 || start + count > array.LongLength)
                throw new ArgumentOutOfRangeException(nameof(start), $"elements {start}..{start + count} are outside an array of {array.LongLength}");
            if (count == 0) return 0;
            long size = Buffer.ByteLength(array) / array.LongLength;
            GCHandle pin = GCHandle.Alloc(array, GCHandleType.Pinned);
            try
            {
                byte* data = (byte*)pin.AddrOfPinnedObject() + start * size;
                long bytes = count * size;
                if (intoArray != 0) Buffer.MemoryCopy(buffer, data, bytes, bytes);
                else Buffer.MemoryCopy(data, buffer, bytes, bytes);
            }
            finally { pin.Free(); }
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
        finally { HeldCalls.Exit(); }
    }
}

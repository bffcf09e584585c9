using System;
using System.Collections;
using System.Collections.Generic;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>
/// A call frame: the header of a block of native memory Python reuses for many calls
/// (<c>_bridge.py</c> keeps a pool of them). Argument values follow the header directly, then
/// the result values (<c>NResults</c> of them, starting at slot <c>NArgs</c>).
/// Mirrored by <c>_FRAME_HEADER</c> in <c>pyclrbridge/_bridge.py</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct Frame
{
    public int MemberId;
    public int NArgs;
    public long Target;
    public int NResults;
    public int Reserved0;
    public long Reserved1;
    public Value Error;
}

/// <summary>
/// Hot-path and bulk exports: one pointer argument per call (cheap for ctypes to marshal), and
/// chunked iteration that moves many elements per foreign call.
/// </summary>
public static unsafe partial class Exports
{
    /// <summary>
    /// <see cref="Invoke"/> with every argument read from a <see cref="Frame"/>. It calls the same
    /// export through its function pointer, so there is one implementation of a member call.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int InvokeFrame(Frame* frame)
    {
        delegate* unmanaged[Cdecl]<int, long, Value*, int, Value*, int, Value*, int> invoke = &Invoke;
        Value* slots = (Value*)(frame + 1);
        return invoke(frame->MemberId, frame->Target, slots, frame->NArgs, slots + frame->NArgs,
            frame->NResults, &frame->Error);
    }

    /// <summary>
    /// Starts a chunked iteration over the IEnumerable behind <paramref name="handle"/>.
    /// <paramref name="result"/> gets a handle to the iteration state (free it with
    /// <see cref="IterClose"/>); <paramref name="flags"/> gets the element mode (0 values,
    /// 1 packed int64, 2 packed double) plus 0x100 when reading ahead is safe (a materialized
    /// collection, not a lazy sequence whose side effects would run early).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int IterStart(long handle, Value* result, int* flags, Value* error)
    {
        try
        {
            object source = Handles.Target(handle);
            BulkIterator it = BulkIterator.For(source);
            result->Kind = ValueKind.Object;
            result->Payload = Handles.Alloc(it);
            result->Extra = 0;
            *flags = it.Mode | (it.ReadAhead ? 0x100 : 0);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    /// <summary>
    /// Writes up to <paramref name="capacity"/> next elements into <paramref name="buffer"/>
    /// (Values, int64s or doubles, by the iteration's mode); <paramref name="count"/> gets how
    /// many. Fewer than <paramref name="capacity"/> means the sequence is exhausted. Strings
    /// of a Values chunk live in the thread's arena until this thread's next call.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int IterNext(long state, void* buffer, int capacity, int* count, Value* error)
    {
        *count = 0;
        try
        {
            var it = (BulkIterator)Handles.Target(state);
            Arena.Reset();
            *count = it.Fill(buffer, capacity);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    /// <summary>Disposes the enumerator of an iteration and frees its state handle.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int IterClose(long state, Value* error)
    {
        try
        {
            if (Handles.Target(state) is BulkIterator it) it.Dispose();
            Handles.Free(state);
            return 0;
        }
        catch (Exception e)
        {
            Handles.Free(state);
            return Fail(e, error);
        }
    }
}

/// <summary>One chunked iteration: the enumerator and how its elements are written.</summary>
internal abstract unsafe class BulkIterator : IDisposable
{
    public int Mode { get; protected init; }
    public bool ReadAhead { get; init; }

    public abstract int Fill(void* buffer, int capacity);
    public abstract void Dispose();

    public static BulkIterator For(object source)
    {
        bool readAhead = IsMaterialized(source);
        switch (source)
        {
            case IEnumerable<int> ints: return new Numbers<int, long>(ints.GetEnumerator(), 1) { ReadAhead = readAhead };
            case IEnumerable<long> longs: return new Numbers<long, long>(longs.GetEnumerator(), 1) { ReadAhead = readAhead };
            case IEnumerable<double> doubles: return new Numbers<double, double>(doubles.GetEnumerator(), 2) { ReadAhead = readAhead };
            case IEnumerable any: return new Boxed(any.GetEnumerator()) { ReadAhead = readAhead };
            default: throw new InvalidCastException($"{Signatures.TypeName(source.GetType())} is not enumerable");
        }
    }

    /// <summary>Arrays and the framework's collections hold their elements already; reading
    /// them ahead runs no user code. Anything else (LINQ, iterators) is read one at a time.</summary>
    private static bool IsMaterialized(object source)
    {
        if (source is Array) return true;
        string ns = source.GetType().Namespace ?? "";
        return ns is "System.Collections.Generic" or "System.Collections" or "System.Collections.Concurrent"
            or "System.Collections.Immutable" or "System.Collections.ObjectModel";
    }

    /// <summary>Numbers written as a block of <typeparamref name="TOut"/> (Int32 widened to
    /// Int64); the JIT specializes each instantiation, so the conversion costs nothing.</summary>
    private sealed class Numbers<TIn, TOut> : BulkIterator
        where TIn : INumberBase<TIn>
        where TOut : unmanaged, INumberBase<TOut>
    {
        private readonly IEnumerator<TIn> _e;
        public Numbers(IEnumerator<TIn> e, int mode) { _e = e; Mode = mode; }
        public override int Fill(void* buffer, int capacity)
        {
            TOut* out_ = (TOut*)buffer;
            int n = 0;
            while (n < capacity && _e.MoveNext()) out_[n++] = TOut.CreateTruncating(_e.Current);
            return n;
        }
        public override void Dispose() => _e.Dispose();
    }

    private sealed class Boxed : BulkIterator
    {
        private readonly IEnumerator _e;
        public Boxed(IEnumerator e) { _e = e; Mode = 0; }
        public override int Fill(void* buffer, int capacity)
        {
            Value* out_ = (Value*)buffer;
            int n = 0;
            while (n < capacity && _e.MoveNext()) Values.FromClr(_e.Current, out_ + n++);
            return n;
        }
        public override void Dispose() => (_e as IDisposable)?.Dispose();
    }
}

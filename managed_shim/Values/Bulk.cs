using System;
using System.Collections;
using System.Collections.Generic;
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
    /// <see cref="Invoke"/> with every argument read from a <see cref="Frame"/> (the same
    /// implementation, <see cref="InvokeCore"/>).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int InvokeFrame(Frame* frame)
    {
        Value* slots = (Value*)(frame + 1);
        int rc = InvokeCore(frame->MemberId, frame->Target, slots, frame->NArgs, slots + frame->NArgs,
            frame->NResults, &frame->Error);
        // Returned: the result slots are ours now. Python reads MemberId and NArgs as 0 after an
        // exception (a signal handler raising right after this call) to know whether a handle in
        // a result slot came from this call and is still owned by no proxy (then it frees it).
        if (rc == 0) { frame->MemberId = 0; frame->NArgs = 0; }
        return rc;
    }

    /// <summary>
    /// Python's except path after it packed a frame's header for a call: frees the handle of a
    /// .NET exception no exception proxy took (the call failed; a signal cut the raise short),
    /// or, when the call returned (<see cref="InvokeFrame"/> zeroed MemberId and NArgs), the
    /// handles of the object results no proxy took (a proxy zeroes the one it takes). Each freed
    /// handle is zeroed where it was. One call, with no signal check before it in Python; valid
    /// only once this call packed the header (before that, a zero header is an earlier call's).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int FreeUnclaimedFrame(Frame* frame, int nargs, int nresults)
    {
        if (frame == null || FreesRefused) return 0;
        if (frame->Error.Kind == ValueKind.Object && frame->Error.Payload != 0)
        {
            long handle = frame->Error.Payload;
            frame->Error.Payload = 0;
            return Handles.Free(handle) ? 1 : 0;
        }
        if (frame->MemberId != 0 || frame->NArgs != 0) return 0;
        Value* results = (Value*)(frame + 1) + nargs;
        int freed = 0;
        for (int i = 0; i < nresults; i++)
        {
            if (results[i].Kind != ValueKind.Object || results[i].Payload == 0) continue;
            long handle = results[i].Payload;
            results[i].Payload = 0;
            if (Handles.Free(handle)) freed++;
        }
        return freed;
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

    /// <summary>Returned by <see cref="IterNext"/> for the last chunk: the iteration is closed
    /// (enumerator disposed, state handle freed), so Python makes no <see cref="IterClose"/> call.</summary>
    private const int IterDone = 3;
    /// <summary>As <see cref="IterDone"/>, but disposing the enumerator threw: the exception is in
    /// <c>error</c>, to raise after the chunk's elements.</summary>
    private const int IterDoneDisposeFailed = 4;

    /// <summary>
    /// Writes up to <paramref name="capacity"/> next elements into <paramref name="buffer"/>
    /// (Values, int64s or doubles, by the iteration's mode); <paramref name="count"/> gets how
    /// many. Fewer than <paramref name="capacity"/> means the sequence is exhausted; a packed
    /// (numbers) iteration is then closed here and the result is <see cref="IterDone"/> (or
    /// <see cref="IterDoneDisposeFailed"/>). Strings of a Values chunk live in the thread's arena
    /// until this thread's next call.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int IterNext(long state, void* buffer, int capacity, int* count, Value* error)
    {
        *count = 0;
        BulkIterator it;
        try
        {
            it = (BulkIterator)Handles.Target(state);
            Arena.Reset();
            *count = it.Fill(buffer, capacity);
            // A Values chunk's strings live in the arena, which code run by Dispose could reuse
            // (a callback into Python calling .NET): those iterations close after conversion.
            if (*count == capacity || it.Mode == 0) return 0;
        }
        catch (Exception e) { return Fail(e, error); }
        // Exhausted numbers: the state is freed first, so whatever Dispose does, Python never frees it again.
        Handles.Free(state);
        try { it.Dispose(); }
        catch (Exception e)
        {
            Fail(e, error);
            return IterDoneDisposeFailed;
        }
        return IterDone;
    }

    /// <summary>Disposes the enumerator of an iteration and frees its state handle.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int IterClose(long state, Value* error)
    {
        // Already closed: the last chunk closed it, and Python, interrupted (a signal handler
        // raising) before it saw that, closes it again. Handles are never reused, so nothing else.
        if (!Handles.TryTarget(state, out object? target)) return 0;
        try
        {
            if (target is BulkIterator it) it.Dispose();
            Handles.Free(state);
            return 0;
        }
        catch (Exception e)
        {
            Handles.Free(state);
            return Fail(e, error);
        }
    }

    /// <summary>
    /// The finalizer of Python's owner of an iteration state (Python calls this export directly,
    /// with no Python frame a signal handler could cut short): frees the state and disposes its
    /// enumerator, ignoring what Dispose throws (nobody is left to raise it to). An iteration
    /// Python closed or .NET already closed, or 0, does nothing; nothing in a forked child or
    /// once Shutdown ran.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int IterRelease(long state)
    {
        if (state == 0 || FreesRefused || !Handles.TryTarget(state, out object? target)) return 0;
        if (!Handles.Free(state)) return 0;  // another thread took it meanwhile
        try { (target as BulkIterator)?.Dispose(); }
        catch (Exception) { }  // a finalizer has no caller to raise to
        return 1;
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
        // The framework's lists first, by exact type (a subclass may re-implement IEnumerable<T>):
        // their struct enumerator is called directly, with no generic math and no type loads.
        Type type = source.GetType();
        if (type == typeof(List<int>)) return new Listed<int>((List<int>)source);
        if (type == typeof(List<long>)) return new Listed<long>((List<long>)source);
        if (type == typeof(List<double>)) return new Listed<double>((List<double>)source);
        bool readAhead = IsMaterialized(source);
        switch (source)
        {
            case IEnumerable<int> ints: return new Int32s(ints.GetEnumerator()) { ReadAhead = readAhead };
            case IEnumerable<long> longs: return new Packed<long>(longs.GetEnumerator(), ModeInt64) { ReadAhead = readAhead };
            case IEnumerable<double> doubles: return new Packed<double>(doubles.GetEnumerator(), ModeDouble) { ReadAhead = readAhead };
            case IEnumerable any: return new Boxed(any.GetEnumerator()) { ReadAhead = readAhead };
        }
        // C#'s foreach pattern: a public GetEnumerator() without IEnumerable. Its code is the
        // type's own, so it is read one element per call, like any lazy sequence.
        if (EnumeratorPattern.Of(type) is { } pattern) return new Patterned(source, pattern);
        throw new InvalidCastException($"{Signatures.TypeName(type)} is not enumerable");
    }

    private const int ModeInt64 = 1;
    private const int ModeDouble = 2;

    /// <summary>Arrays and the framework's collections hold their elements already; reading
    /// them ahead runs no user code. Anything else (LINQ, iterators) is read one at a time.</summary>
    private static bool IsMaterialized(object source)
    {
        if (source is Array) return true;
        string ns = source.GetType().Namespace ?? "";
        return ns is "System.Collections.Generic" or "System.Collections" or "System.Collections.Concurrent"
            or "System.Collections.Immutable" or "System.Collections.ObjectModel";
    }

    /// <summary>A <see cref="List{T}"/> of Int32 (widened to Int64), Int64 or Double through its
    /// struct enumerator (it still throws when the list changes). Compiled fully optimized on
    /// first use: the first iteration of a process runs no slow tier-0 loop, and the
    /// <c>typeof</c> tests fold away per instantiation.</summary>
    private sealed class Listed<T> : BulkIterator where T : unmanaged
    {
        private List<T>.Enumerator _e;
        public Listed(List<T> list)
        {
            _e = list.GetEnumerator();
            Mode = typeof(T) == typeof(double) ? ModeDouble : ModeInt64;
            ReadAhead = true;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override int Fill(void* buffer, int capacity)
        {
            int n = 0;
            if (typeof(T) == typeof(int))
            {
                long* out_ = (long*)buffer;
                while (n < capacity && _e.MoveNext())
                {
                    T item = _e.Current;
                    out_[n++] = Unsafe.As<T, int>(ref item);
                }
            }
            else
            {
                T* out_ = (T*)buffer; // Int64 and Double have the layout of their mode's slots
                while (n < capacity && _e.MoveNext()) out_[n++] = _e.Current;
            }
            return n;
        }
        public override void Dispose() => _e.Dispose();
    }

    /// <summary>Any other sequence of Int32, widened to the Int64 slots of its mode.</summary>
    private sealed class Int32s : BulkIterator
    {
        private readonly IEnumerator<int> _e;
        public Int32s(IEnumerator<int> e) { _e = e; Mode = ModeInt64; }
        public override int Fill(void* buffer, int capacity)
        {
            long* out_ = (long*)buffer;
            int n = 0;
            while (n < capacity && _e.MoveNext()) out_[n++] = _e.Current;
            return n;
        }
        public override void Dispose() => _e.Dispose();
    }

    /// <summary>Any other sequence of Int64 or Double, written as they are.</summary>
    private sealed class Packed<T> : BulkIterator where T : unmanaged
    {
        private readonly IEnumerator<T> _e;
        public Packed(IEnumerator<T> e, int mode) { _e = e; Mode = mode; }
        public override int Fill(void* buffer, int capacity)
        {
            T* out_ = (T*)buffer;
            int n = 0;
            while (n < capacity && _e.MoveNext()) out_[n++] = _e.Current;
            return n;
        }
        public override void Dispose() => _e.Dispose();
    }

    /// <summary>An enumerator of C#'s foreach pattern, called through reflection. A struct
    /// enumerator lives in one box for the whole iteration, so MoveNext advances that box.
    /// Disposed as C# does: when the enumerator implements IDisposable.</summary>
    private sealed class Patterned : BulkIterator
    {
        private readonly object? _e;
        private readonly EnumeratorPattern _p;
        public Patterned(object source, EnumeratorPattern p)
        {
            _p = p;
            _e = EnumeratorPattern.Call(p.GetEnumerator, source)
                ?? throw new InvalidOperationException($"{Signatures.TypeName(source.GetType())}.GetEnumerator() returned null");
            Mode = 0;
        }
        public override int Fill(void* buffer, int capacity)
        {
            Value* out_ = (Value*)buffer;
            int n = 0;
            while (n < capacity && (bool)EnumeratorPattern.Call(_p.MoveNext, _e!)!)
                Values.FromClr(EnumeratorPattern.Call(_p.Current, _e!), out_ + n++);
            return n;
        }
        public override void Dispose() => (_e as IDisposable)?.Dispose();
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

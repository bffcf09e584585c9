using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace PyClrBridge.Shim;

/// <summary>
/// Write-back for methods that return a task: a writable Python buffer passed as a <c>T[]</c>
/// argument (<c>stream.ReadAsync(buf, 0, n)</c>) is copied back when the task completes, not
/// when the call returns (the read has usually not happened yet then).
///
/// When a call returns an unfinished Task, Task&lt;T&gt;, ValueTask or ValueTask&lt;T&gt; and
/// some arguments are arrays lent from Python buffers, each buffer is held for .NET first: the
/// Python "holder" (registered once, by registry id) is called on the calling thread with the
/// buffer's address and registers the Python object that keeps the buffer exported (so it
/// cannot be resized or freed), returning its registry id. The call's result is then replaced
/// by a task of the same kind that completes, with the same outcome, only after the arrays
/// have been copied into the buffers and the holds released (the holder, called with the
/// negated id, drops it). So whoever observes the task
/// completing (await, Wait, Result, ContinueWith) sees the data in the buffer.
/// </summary>
internal static unsafe class AsyncWriteBack
{
    // No lock: published once by Interlocked.Exchange (Python registers it under its own lock).
    private static PyObjectRef? _holder;

    // Pure memos per runtime type (concurrent: any thread may make calls): how to wrap a
    // Task<T> and a ValueTask<T>, and how to ask a boxed ValueTask<T> whether it completed.
    private static readonly ConcurrentDictionary<Type, Func<Task, Action, object>> _wrapTyped = new();
    private static readonly ConcurrentDictionary<Type, PropertyInfo> _isCompleted = new();

    private static readonly MethodInfo _wrapOf = typeof(AsyncWriteBack).GetMethod(nameof(WrapOf), BindingFlags.NonPublic | BindingFlags.Static)!;

    public static void SetHolder(long pyObjectId) => Interlocked.Exchange(ref _holder, PyObjects.Take(pyObjectId));

    private readonly record struct Lent(Array Array, long Address, PyObjectRef Hold);

    /// <summary>After a call: when <paramref name="result"/> is an unfinished task and arguments
    /// are arrays lent from Python buffers, takes those arrays (a later CopyBack skips them) and
    /// replaces the result by the task that copies them back on completion.</summary>
    public static void Defer(ref object? result, Value* args, int nargs, object?[] converted)
    {
        if (result == null || !AnyLent(args, nargs)) return;
        PyObjectRef? holder = Volatile.Read(ref _holder);
        if (holder == null || Callbacks.IsClosed || !IsUnfinished(result)) return;
        List<Lent>? lent = null;
        for (int i = 0; i < nargs; i++)
        {
            if (args[i].Kind != ValueKind.BytesOut && args[i].Kind != ValueKind.BufferOut) continue;
            if (BufferValues.TakeLent(args[i], converted[i]) is not Array array) continue;
            long id = Callbacks.Invoke(holder, new object?[] { args[i].Payload }, typeof(long), Type.EmptyTypes)[0] is long got ? got : 0;
            if (id == 0)
            {
                BufferValues.CopyInto(array, args[i].Payload);  // not held: copied now, as for any call
                continue;
            }
            (lent ??= new List<Lent>()).Add(new Lent(array, args[i].Payload, PyObjects.Take(id)));
        }
        if (lent == null) return;
        result = Wrap(result, () => Finish(lent));
    }

    private static bool AnyLent(Value* args, int nargs)
    {
        for (int i = 0; i < nargs; i++)
            if (args[i].Kind == ValueKind.BytesOut || args[i].Kind == ValueKind.BufferOut) return true;
        return false;
    }

    /// <summary>Copies each array into its buffer, then lets the buffers go: at once (the holder
    /// called with the negated id drops the hold, so the buffer can be resized again as soon as
    /// the task is seen complete), and through the release queue for the bookkeeping.</summary>
    private static void Finish(List<Lent> lent)
    {
        PyObjectRef? holder = Volatile.Read(ref _holder);
        foreach (Lent l in lent)
        {
            try
            {
                // After Python shut down its objects may be gone: nothing is written then.
                if (!Callbacks.IsClosed)
                {
                    BufferValues.CopyInto(l.Array, l.Address);
                    // A void callback: skipped quietly once Python has shut down.
                    if (holder != null) Callbacks.Invoke(holder, new object?[] { -l.Hold.Id }, typeof(void), Type.EmptyTypes);
                }
            }
            finally
            {
                GC.SuppressFinalize(l.Hold);
                PyObjects.QueueRelease(l.Hold.Id);
            }
        }
    }

    private static bool IsUnfinished(object result)
    {
        switch (result)
        {
            case Task t: return !t.IsCompleted;
            case ValueTask vt: return !vt.IsCompleted;
        }
        Type type = result.GetType();
        if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(ValueTask<>)) return false;
        PropertyInfo p = _isCompleted.GetOrAdd(type, static ty => ty.GetProperty(nameof(ValueTask.IsCompleted))!);
        return !(bool)p.GetValue(result)!;
    }

    /// <summary>A task of the same kind as <paramref name="result"/> that completes like it, after <paramref name="after"/> ran.</summary>
    private static object Wrap(object result, Action after)
    {
        switch (result)
        {
            case Task t:
                Type? arg = ResultType(t.GetType());
                return arg == null ? Then(t, after) : WrapperFor(arg)(t, after);
            case ValueTask vt:
                return new ValueTask(Then(vt.AsTask(), after));
        }
        // ValueTask<T>: its Task<T>, wrapped, in a new ValueTask<T>.
        Type valueTask = result.GetType();
        Type element = valueTask.GetGenericArguments()[0];
        object inner = WrapperFor(element)(TaskWatch.AsTask(result), after);
        return Activator.CreateInstance(valueTask, inner)!;
    }

    /// <summary>The T of a Task&lt;T&gt; (or of a subclass), when T is public; null otherwise.</summary>
    private static Type? ResultType(Type type)
    {
        for (Type? t = type; t != null && t != typeof(Task); t = t.BaseType)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Task<>))
            {
                Type arg = t.GetGenericArguments()[0];
                return arg.IsPublic || arg.IsNestedPublic ? arg : null;
            }
        }
        return null;
    }

    private static Func<Task, Action, object> WrapperFor(Type element) =>
        _wrapTyped.GetOrAdd(element, static e => _wrapOf.MakeGenericMethod(e).CreateDelegate<Func<Task, Action, object>>());

    private static object WrapOf<T>(Task task, Action after) =>
        ((Task<T>)task).ContinueWith(static (t, state) => { ((Action)state!)(); return t; }, after,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();

    private static Task Then(Task task, Action after) =>
        task.ContinueWith(static (t, state) => { ((Action)state!)(); return t; }, after,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();
}

public static unsafe partial class Exports
{
    /// <summary>Registers the Python callable (by registry id) that holds a lent buffer for a task:
    /// called with the buffer's address, it returns the registry id of what keeps it alive (0: none).</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int SetBufferHolder(long pyObjectId, Value* error)
    {
        try { AsyncWriteBack.SetHolder(pyObjectId); return 0; }
        catch (Exception e) { return Fail(e, error); }
    }
}

using System;
using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace PyClrBridge.Shim;

/// <summary>
/// Awaiting .NET tasks from asyncio. Python registers one "sink" callable once; when a watched
/// task completes, a continuation calls the sink with the watch token (through the one
/// dispatcher), and Python posts the wake-up to its event loop. The outcome (result or
/// exception) is read later, on the loop's thread, with <see cref="TaskOutcome"/>: nothing but
/// the tiny sink runs on a .NET thread.
/// </summary>
internal static class TaskWatch
{
    // No lock: _sink is published by Interlocked.Exchange (Python registers it once, under its
    // own _sink_lock); the counters are only touched through Interlocked.
    private static PyObjectRef? _sink;
    private static long _watching;
    private static long _notified;

    // Pure memo: per runtime type, how to read Task<T>.Result (null: the task has no result).
    // Concurrent: any Python thread may read an outcome.
    private static readonly ConcurrentDictionary<Type, PropertyInfo?> _resultProperty = new();
    // Pure memo: per boxed ValueTask type, its AsTask method. Concurrent for the same reason.
    private static readonly ConcurrentDictionary<Type, MethodInfo> _asTask = new();

    public static long Watching => Interlocked.Read(ref _watching);
    public static long Notified => Interlocked.Read(ref _notified);

    public static void SetSink(long pyObjectId) =>
        Interlocked.Exchange(ref _sink, PyObjects.Take(pyObjectId));

    public static Task AsTask(object o)
    {
        if (o is Task t) return t;
        if (o is ValueTask vt) return vt.AsTask();
        Type type = o.GetType();
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ValueTask<>))
        {
            MethodInfo m = _asTask.GetOrAdd(type, static ty => ty.GetMethod(nameof(ValueTask<int>.AsTask))
                ?? throw new MissingMethodException(ty.FullName, nameof(ValueTask<int>.AsTask)));
            return (Task)m.Invoke(o, BindingFlags.DoNotWrapExceptions, null, null, null)!;
        }
        throw new InvalidCastException($"{Signatures.TypeName(type)} is not a Task or ValueTask");
    }

    /// <summary>Calls the sink with <paramref name="token"/> once <paramref name="task"/> completes.</summary>
    public static void Watch(Task task, long token)
    {
        if (_sink == null) throw new InvalidOperationException("the task sink was not registered");
        Interlocked.Increment(ref _watching);
        task.ContinueWith(static (_, state) => Notify((long)state!), token, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static void Notify(long token)
    {
        Interlocked.Decrement(ref _watching);
        Interlocked.Increment(ref _notified);
        try
        {
            // A void callback: after Python shut down it is skipped quietly.
            Callbacks.Invoke(_sink!, new object?[] { token }, typeof(void), Type.EmptyTypes);
        }
        catch (Exception)
        {
            // The sink only posts to an event loop; if it failed there is no one to tell on this
            // thread (throwing here would be an unobserved continuation fault). Python's awaiter
            // never hangs on it: the sink's own failure modes (closed loop) mean no awaiter is left.
        }
    }

    /// <summary>The value of a completed task (<c>hasResult</c> false for Task and Task&lt;VoidTaskResult&gt;).</summary>
    public static object? Result(Task task, out bool hasResult)
    {
        PropertyInfo? p = _resultProperty.GetOrAdd(task.GetType(), static ty =>
        {
            for (Type? t = ty; t != null && t != typeof(Task); t = t.BaseType)
            {
                if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Task<>))
                {
                    Type arg = t.GetGenericArguments()[0];
                    // Non-generic async methods return Task<VoidTaskResult>, an internal type.
                    return arg.IsPublic || arg.IsNestedPublic ? t.GetProperty(nameof(Task<int>.Result)) : null;
                }
            }
            return null;
        });
        hasResult = p != null;
        return p?.GetValue(task);
    }
}

public static unsafe partial class Exports
{
    /// <summary>Registers the Python callable (by registry id) that receives completion tokens.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int TaskSetSink(long pyObjectId, Value* error)
    {
        try { TaskWatch.SetSink(pyObjectId); return 0; }
        catch (Exception e) { return Fail(e, error); }
    }

    /// <summary>
    /// The Task behind a Task or boxed ValueTask handle (a new handle in <c>result</c>).
    /// A ValueTask may be consumed once: Python calls this once per await.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int TaskFrom(long handle, Value* result, Value* error)
    {
        try
        {
            Task t = TaskWatch.AsTask(Handles.Target(handle));
            result->Kind = ValueKind.Object;
            result->Payload = Handles.Alloc(t);
            result->Extra = TypeCatalog.IdOf(t.GetType());
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    /// <summary>
    /// Starts watching a task: returns 1 (and calls nothing) when it is already complete,
    /// 0 when the sink will be called with <paramref name="token"/> on completion.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int TaskWatchStart(long handle, long token, int* completed, Value* error)
    {
        try
        {
            Task t = (Task)Handles.Target(handle);
            if (t.IsCompleted) { *completed = 1; return 0; }
            *completed = 0;
            TaskWatch.Watch(t, token);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    /// <summary>
    /// The outcome of a completed task: 0 with the result (Void for a task without one), or 1 with
    /// the exception. A fault with exactly one inner exception reports that exception itself;
    /// a canceled task reports the TaskCanceledException that awaiting it would throw.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int TaskOutcome(long handle, Value* result, Value* error)
    {
        try
        {
            Task t = (Task)Handles.Target(handle);
            if (!t.IsCompleted) throw new InvalidOperationException("the task has not completed yet");
            if (t.IsFaulted)
            {
                AggregateException agg = t.Exception!;
                return Fail(agg.InnerExceptions.Count == 1 ? agg.InnerExceptions[0] : agg, error);
            }
            if (t.IsCanceled)
            {
                try { t.GetAwaiter().GetResult(); }
                catch (Exception e) { return Fail(e, error); }
            }
            object? value = TaskWatch.Result(t, out bool hasResult);
            Arena.Reset();
            if (!hasResult) { result->Kind = ValueKind.Void; result->Payload = 0; result->Extra = 0; }
            else Values.FromClr(value, result);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    /// <summary>Tasks being watched (continuation not yet run) and completions delivered so far.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int TaskStats(long* watching, long* notified)
    {
        *watching = TaskWatch.Watching;
        *notified = TaskWatch.Notified;
        return 0;
    }
}

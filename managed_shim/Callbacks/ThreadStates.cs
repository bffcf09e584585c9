using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// One Python thread state per .NET thread that calls Python, kept for the thread's life.
/// <para>
/// A callback's ctypes entry takes the GIL with <c>PyGILState_Ensure</c>: on a thread without a
/// Python thread state that creates one, and the matching release destroys it, so every callback
/// on a .NET thread paid for a new thread state (100x the cost of a call on free-threaded
/// builds). On the first callback of a .NET thread, <see cref="Keep"/> calls
/// <c>PyGILState_Ensure</c> once and keeps it (then <c>PyEval_SaveThread</c> drops the GIL, the
/// state stays): the entry's own Ensure/Release then only take and drop the GIL.
/// </para>
/// <para>
/// Release: .NET has no thread-exit hook that may still call Python, so a state is deleted after
/// its thread ended (<see cref="Thread.IsAlive"/> false: no managed code runs on it any more, and
/// the state is detached, since a callback never outlives the managed frame that made it), by
/// another thread that has no Python thread state of its own: it attaches the dead thread's
/// state (<c>PyEval_RestoreThread</c>), clears it and deletes it as the current one
/// (<c>PyThreadState_Clear</c>, <c>PyThreadState_DeleteCurrent</c>), the documented way to delete
/// an attached state. That runs whenever a new .NET thread first enters Python (so states of threads
/// that come and go never pile up beyond the threads alive at once) and on
/// <see cref="SweepNow"/> (<c>Runtime.collect()</c>, on a short-lived thread of its own). Threads
/// that have a Python thread state already (Python's own threads calling .NET) are left alone.
/// </para>
/// <para>
/// Shutdown: every step runs counted in flight (<see cref="Callbacks.TryEnter"/>), so none runs
/// once Python began to shut down; the interpreter deletes the states still kept when it
/// finalizes, and no .NET thread touches its state after that (callbacks are refused first).
/// </para>
/// </summary>
internal static unsafe class ThreadStates
{
    // The C-API functions, set once by SetPythonApi before any callback; null: keep nothing.
    private static delegate* unmanaged[Cdecl]<int> _ensure;                // PyGILState_Ensure
    private static delegate* unmanaged[Cdecl]<IntPtr> _save;               // PyEval_SaveThread
    private static delegate* unmanaged[Cdecl]<IntPtr, void> _restore;      // PyEval_RestoreThread
    private static delegate* unmanaged[Cdecl]<IntPtr, void> _clear;        // PyThreadState_Clear
    private static delegate* unmanaged[Cdecl]<void> _deleteCurrent;        // PyThreadState_DeleteCurrent
    private static delegate* unmanaged[Cdecl]<IntPtr> _thisThreadState;    // PyGILState_GetThisThreadState

    // Per thread, no lock: whether this thread was looked at (kept a state, or has Python's own).
    [ThreadStatic] private static bool _seen;

    // Owner: _lock guards _kept (threads whose state we created, and that state). Taken only by
    // .NET threads that hold no GIL and no Python state, and never by a thread holding the GIL,
    // so waiting for the GIL under it cannot deadlock. The counters are written under it and
    // read without it (Volatile/Interlocked: stats must not wait for a thread waiting for the GIL).
    private static readonly object _lock = new();
    private static readonly List<(Thread Thread, IntPtr State)> _kept = new();
    private static int _keptCount;
    private static long _created, _released;

    public static int Kept => Volatile.Read(ref _keptCount);
    public static long Created => Interlocked.Read(ref _created);
    public static long Released => Interlocked.Read(ref _released);

    public static void SetApi(long* fns)
    {
        _ensure = (delegate* unmanaged[Cdecl]<int>)fns[0];
        _save = (delegate* unmanaged[Cdecl]<IntPtr>)fns[1];
        _restore = (delegate* unmanaged[Cdecl]<IntPtr, void>)fns[2];
        _clear = (delegate* unmanaged[Cdecl]<IntPtr, void>)fns[3];
        _deleteCurrent = (delegate* unmanaged[Cdecl]<void>)fns[4];
        _thisThreadState = (delegate* unmanaged[Cdecl]<IntPtr>)fns[5];
    }

    /// <summary>
    /// Called by a thread about to enter Python, counted in flight (Python is not shutting down)
    /// and not holding the GIL. The first time on a .NET thread: delete the states of ended
    /// threads, then create and keep this thread's. Later: one thread-static read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Keep()
    {
        if (!_seen) KeepSlow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void KeepSlow()
    {
        _seen = true;
        if (_ensure == null || _thisThreadState() != IntPtr.Zero) return;  // not set up, or a Python thread
        lock (_lock)
        {
            SweepLocked();
            _ensure();                 // creates this thread's state and takes the GIL
            IntPtr state = _save();    // drops the GIL, keeps the state
            _kept.Add((Thread.CurrentThread, state));
            Volatile.Write(ref _keptCount, _kept.Count);
            Interlocked.Increment(ref _created);
        }
    }

    /// <summary>Deletes the states of ended threads; on a thread without a Python state of its own.</summary>
    private static void SweepLocked()
    {
        for (int i = _kept.Count - 1; i >= 0; i--)
        {
            (Thread thread, IntPtr state) = _kept[i];
            if (thread.IsAlive) continue;
            _restore(state);      // attach the ended thread's (detached) state here, with the GIL
            _clear(state);
            _deleteCurrent();     // deletes it and drops the GIL
            _kept.RemoveAt(i);
            Volatile.Write(ref _keptCount, _kept.Count);
            Interlocked.Increment(ref _released);
        }
    }

    /// <summary>Deletes the states of ended threads now, from a short-lived thread that has no
    /// Python state (the caller may hold one). Returns how many states are still kept.</summary>
    public static int SweepNow()
    {
        if (_ensure == null) return 0;
        var sweeper = new Thread(() =>
        {
            if (!Callbacks.TryCount()) return;  // counted, and no state of its own
            try
            {
                lock (_lock) SweepLocked();
            }
            finally
            {
                Callbacks.Exit();
            }
        }) { IsBackground = true, Name = "pyclrbridge thread-state sweep" };
        sweeper.Start();
        sweeper.Join();
        return Kept;
    }
}

public static unsafe partial class Exports
{
    /// <summary>The Python C-API functions <see cref="ThreadStates"/> uses: PyGILState_Ensure,
    /// PyEval_SaveThread, PyEval_RestoreThread, PyThreadState_Clear, PyThreadState_DeleteCurrent,
    /// PyGILState_GetThisThreadState (addresses, in this order).</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int SetPythonApi(long* functions, int count)
    {
        if (count != 6) return 1;
        ThreadStates.SetApi(functions);
        return 0;
    }

    /// <summary>Deletes the Python states of ended .NET threads now; returns how many are kept.
    /// Call with the GIL released (it waits for a thread that takes it).</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int SweepThreadStates() => ThreadStates.SweepNow();
}

using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// Releasing the GIL from inside a native slot, around a .NET call that is not proved leaf,
/// and taking it back safely, also while the interpreter exits.
/// <para>
/// A slot calls <see cref="Release"/> (<c>PyEval_SaveThread</c>) after everything Python is
/// done (arguments converted to C# values, the target read from the handle table), runs .NET,
/// and calls <see cref="Reacquire"/> in a <c>finally</c> before it touches Python again. The
/// danger is the way back: on Python 3.11-3.13, <c>PyEval_RestoreThread</c> on a thread other
/// than the finalizing one, after finalization began, calls <c>pthread_exit</c>, whose forced
/// unwind must not cross the slot's managed frame (ctypes is safe there because its restore
/// runs after the .NET frame returned). The bridge's exit handler
/// (<see cref="Exports.Shutdown"/>, from <c>atexit</c>, so before finalization begins, and with
/// the GIL released) calls <see cref="Close"/> first:
/// </para>
/// <list type="bullet">
/// <item>a thread that has not started restoring when <see cref="Close"/> marks the exit parks
/// (waits, holding no lock and no GIL, until the process ends), as a callback refused at exit
/// does (<see cref="Callbacks.Refuse"/>): the daemon thread would have been stopped anyway;</item>
/// <item>a thread already restoring is counted (<see cref="_restoring"/>), and Close waits
/// (bounded) until each got the GIL back, so finalization cannot begin under it.</item>
/// </list>
/// The count and the flag form a Dekker pair (both written with full fences): either Close
/// sees the thread counted, or the thread sees the flag. After an explicit
/// <c>Runtime.shutdown()</c> (not an exit) the interpreter goes on: threads restore normally,
/// and <see cref="Open"/> turns false so new calls take the Python path (which refuses them).
/// </summary>
internal static unsafe class Releasing
{
    // Atomics, no lock (read by the slots on any thread, written by Close): closed (no new
    // releasing call), exiting (restoring threads park), and how many threads are restoring.
    private static int _closed, _exiting, _restoring;
    private static long _parked;

    /// <summary>Whether a slot may start a releasing call (false once shutdown began: the
    /// Python path then takes the call and says why).</summary>
    public static bool Open => Volatile.Read(ref _closed) == 0;

    /// <summary>Threads parked at exit instead of restoring (stats).</summary>
    public static long Parked => Interlocked.Read(ref _parked);

    /// <summary>Releases the GIL this thread holds: the saved thread state for <see cref="Reacquire"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized when NativeMembers.EnsureCompiled prepares it
    public static IntPtr Release() { Upper.Clean(); return PyApi.PyEval_SaveThread(); }

    /// <summary>Takes the GIL back with <paramref name="state"/> (from <see cref="Release"/>),
    /// or, once the interpreter is exiting, never returns (see the class comment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Reacquire(IntPtr state)
    {
        Interlocked.Increment(ref _restoring);
        if (Volatile.Read(ref _exiting) != 0)
        {
            Interlocked.Decrement(ref _restoring);
            ParkUntilExit();
        }
        Upper.Clean();
        PyApi.PyEval_RestoreThread(state);  // no managed exception: a plain sequence
        Interlocked.Decrement(ref _restoring);
    }

    private static void ParkUntilExit()
    {
        Interlocked.Increment(ref _parked);
        while (true)
        {
            try { Thread.Sleep(Timeout.Infinite); }
            catch (ThreadInterruptedException) { }  // nothing to go back to: keep waiting
        }
    }

    /// <summary>Called with the GIL released by the shutdown export: no new releasing calls;
    /// when <paramref name="exiting"/>, threads not yet restoring park, and this waits (at most
    /// <paramref name="timeoutMs"/>) for those restoring to hold the GIL.</summary>
    public static void Close(bool exiting, int timeoutMs)
    {
        Interlocked.Exchange(ref _closed, 1);
        if (!exiting) return;
        Interlocked.Exchange(ref _exiting, 1);
        long deadline = Environment.TickCount64 + timeoutMs;
        var spin = new SpinWait();
        while (Volatile.Read(ref _restoring) > 0 && Environment.TickCount64 < deadline) spin.SpinOnce();
    }
}

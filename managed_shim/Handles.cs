using System;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// GCHandles handed to Python. Python owns each one and frees it exactly once; the live set here
/// makes that claim atomic on the .NET side as well (a second free of the same value is refused,
/// not executed).
/// </summary>
internal static class Handles
{
    // Owner: this class. Concurrent because Python threads allocate and free in parallel;
    // TryRemove is the atomic claim that stops two frees of one handle.
    private static readonly ConcurrentDictionary<IntPtr, byte> _live = new();
    private static long _allocated;
    private static long _freed;
    private static long _refusedFrees;

    public static long Alloc(object o)
    {
        IntPtr h = GCHandle.ToIntPtr(GCHandle.Alloc(o));
        _live[h] = 0;
        Interlocked.Increment(ref _allocated);
        return (long)h;
    }

    public static object Target(long handle)
    {
        IntPtr h = (IntPtr)handle;
        if (!_live.ContainsKey(h))
            throw new ObjectDisposedException("handle", "the .NET object behind this proxy was already released");
        return GCHandle.FromIntPtr(h).Target!;
    }

    /// <summary>Frees a handle once; returns false (and frees nothing) when it is not live.</summary>
    public static bool Free(long handle)
    {
        IntPtr h = (IntPtr)handle;
        if (!_live.TryRemove(h, out _))
        {
            Interlocked.Increment(ref _refusedFrees);
            return false;
        }
        GCHandle.FromIntPtr(h).Free();
        Interlocked.Increment(ref _freed);
        return true;
    }

    public static int Live => _live.Count;
    public static long Allocated => Interlocked.Read(ref _allocated);
    public static long Freed => Interlocked.Read(ref _freed);
    public static long RefusedFrees => Interlocked.Read(ref _refusedFrees);
}

using System;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// The .NET objects Python holds, by handle. A handle is a number drawn from a 64-bit counter,
/// never reused: once freed, every later use of that value (a call that read it before another
/// thread released the proxy) finds nothing and raises, instead of reaching whichever object a
/// recycled GCHandle slot would hold next. Python owns each handle and frees it exactly once;
/// the table makes that claim atomic here as well (a second free of the same value is refused).
/// </summary>
internal static class Handles
{
    // Owner: this class. Concurrent because Python threads allocate, read and free in parallel
    // (no GIL assumed); TryGetValue and TryRemove are the atomic read and the atomic claim.
    // Striped wide: an add or a remove locks one stripe, and the default (one stripe per
    // processor) made threads that each make and drop their own objects wait on each other's
    // stripe (spinning, then yielding the processor) on a free-threaded Python. Consecutive
    // handles fall into consecutive buckets, so threads drawing from their own blocks (below)
    // lock different stripes.
    private static readonly ConcurrentDictionary<long, object> _live =
        new(Math.Max(64, 4 * Environment.ProcessorCount), 1024);
    private static long _next;
    // Statistics, striped: every thread adds to its own cell (see StripedCounter).
    private static readonly StripedCounter _allocated = new();
    private static readonly StripedCounter _freed = new();
    private static long _refusedFrees;

    // Each thread draws handle numbers from its own block of HandleBlock numbers, taken from
    // _next with one atomic add: no shared counter is written at every allocation. Still never
    // reused (blocks do not overlap; what a thread leaves of its block when it ends is skipped).
    // Thread-static: each field has one owner thread.
    private const long HandleBlock = 256;
    [ThreadStatic] private static long _blockNext;
    [ThreadStatic] private static long _blockEnd;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call (see docs/performance.md)
    public static long Alloc(object o)
    {
        long h = _blockNext;
        if (h == _blockEnd)
        {
            h = Interlocked.Add(ref _next, HandleBlock) - HandleBlock + 1;  // this thread's block: h .. h + HandleBlock - 1
            _blockEnd = h + HandleBlock;
        }
        _blockNext = h + 1;
        _live[h] = o;
        _allocated.Increment();
        return h;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call (see docs/performance.md)
    public static object Target(long handle)
    {
        if (!_live.TryGetValue(handle, out object? o))
            throw new ObjectDisposedException("handle", "the .NET object behind this proxy was already released");
        return o;
    }

    /// <summary>The object behind a live handle, without throwing (false: released).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryTarget(long handle, out object? target) => _live.TryGetValue(handle, out target);

    /// <summary>Frees a handle once; returns false (and frees nothing) when it is not live.</summary>
    public static bool Free(long handle)
    {
        if (!_live.TryRemove(handle, out _))
        {
            Interlocked.Increment(ref _refusedFrees);
            return false;
        }
        _freed.Increment();
        return true;
    }

    public static int Live => _live.Count;
    public static long Allocated => _allocated.Read();
    public static long Freed => _freed.Read();
    public static long RefusedFrees => Interlocked.Read(ref _refusedFrees);
}

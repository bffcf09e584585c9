using System;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// A counter that many threads add to at once without sharing a cache line: each thread adds
/// to its own cell (cells are a cache line pair apart), and a read sums the cells. One shared
/// counter written by every thread at every handle made or freed cost each write a cache line
/// transfer between cores (on a free-threaded Python, threads making and dropping objects in
/// parallel paid it at every call). Adds are atomic (two threads may share a cell when there
/// are more threads than cells); a read is exact once the writers are done, and otherwise as
/// fresh as a sum of single reads can be (these are statistics).
/// </summary>
internal sealed class StripedCounter
{
    private const int Cells = 64;
    private const int Stride = 16;  // 16 longs = 128 bytes: a cell per cache line pair (adjacent-line prefetch)

    // Owner: this counter. Each cell is written with Interlocked by the threads mapped to it.
    private readonly long[] _cells = new long[Cells * Stride];

    // The cell of this thread: assigned once per thread, round robin. Thread-static: one owner.
    [ThreadStatic] private static int _cellPlusOne;
    private static int _nextCell;

    private static int Cell
    {
        get
        {
            int c = _cellPlusOne;
            if (c == 0)
            {
                c = (int)((uint)Interlocked.Increment(ref _nextCell) % Cells) + 1;
                _cellPlusOne = c;
            }
            return (c - 1) * Stride;
        }
    }

    public void Increment() => Interlocked.Increment(ref _cells[Cell]);

    public long Read()
    {
        long sum = 0;
        for (int i = 0; i < Cells; i++) sum += Volatile.Read(ref _cells[i * Stride]);
        return sum;
    }
}

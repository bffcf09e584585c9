using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>
/// Per-thread native scratch memory for strings handed to Python. The Python caller reads
/// every string of a result before it makes its next call on the same thread, so the arena is
/// reset each time a result is written. Thread-static, so no lock.
/// </summary>
internal static unsafe class Arena
{
    [ThreadStatic] private static char* _buffer;
    [ThreadStatic] private static int _capacity;
    [ThreadStatic] private static int _used;

    // Python objects of the result being written: alive until the caller has read it (its
    // registry id must not be released before Python looks it up). Thread-static, no lock.
    [ThreadStatic] private static List<PyObjectRef>? _held;

    public static void Reset()
    {
        _used = 0;
        List<PyObjectRef>? held = _held;
        if (held != null && held.Count != 0) held.Clear();
    }

    public static void Hold(PyObjectRef o) => (_held ??= new List<PyObjectRef>()).Add(o);

    public static char* Store(string s)
    {
        char* dst = Reserve(s.Length + 1);
        s.AsSpan().CopyTo(new Span<char>(dst, s.Length));
        dst[s.Length] = '\0';
        return dst;
    }

    /// <summary>Stores <paramref name="s"/> after an int64 holding its length (4 chars); returns
    /// the address of the length.</summary>
    public static char* StoreCounted(string s)
    {
        char* dst = Reserve(4 + s.Length + 1);
        *(long*)dst = s.Length;
        s.AsSpan().CopyTo(new Span<char>(dst + 4, s.Length));
        dst[4 + s.Length] = '\0';
        return dst;
    }

    private static char* Reserve(int count)
    {
        int need = _used + count;
        if (need > _capacity)
        {
            // Growing moves the buffer; strings already handed out in this result stay valid
            // because the old block is kept until the thread's next reset (leaked once per growth).
            int cap = Math.Max(need * 2, 256);
            char* fresh = (char*)NativeMemory.Alloc((nuint)cap, sizeof(char));
            _buffer = fresh;
            _capacity = cap;
            _used = 0;
            need = count;
        }
        char* dst = _buffer + _used;
        _used = need;
        return dst;
    }
}

using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>The values of native calls across the C-API (<see cref="NativeCalls"/>): a str argument
/// as a .NET string, and a C# result (a compiled held call's, or a releasing call's
/// <see cref="NativeCallPlan.Outcome"/>) as a new Python object. All with the GIL held.</summary>
internal static unsafe class NativeConversions
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr NoneRef()
    {
        PyApi.Py_IncRef(PyApi.None);
        return PyApi.None;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromLong(long v) => PyApi.PyLong_FromLongLong(v);
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromULong(ulong v) => PyApi.PyLong_FromUnsignedLongLong(v);
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromBool(bool v) => PyApi.PyBool_FromLong(new CLong(v ? 1 : 0));
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromDouble(double v) => PyApi.PyFloat_FromDouble(v);
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromString(string? s) => s == null ? NoneRef() : NativeMembers.Text(s);
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromChar(char c) => NativeMembers.Text(new ReadOnlySpan<char>(&c, 1));

    private static readonly byte[] Utf8Name = "utf-8\0"u8.ToArray();

    /// <summary>The text of exact str argument <paramref name="value"/> as a .NET string: 0, or -1
    /// with a Python error set. Through strict UTF-8, which CPython encodes without a codec
    /// lookup (and copies as is for an ASCII string); a str holding a lone surrogate, which
    /// strict UTF-8 refuses, takes <see cref="NativeMembers.StringOf"/>'s UTF-16 route
    /// (surrogatepass). Strict UTF-8 never holds a surrogate, so decoding it gives exactly the
    /// str's code points.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int ArgumentText(IntPtr value, out string? text)
    {
        IntPtr bytes;
        fixed (byte* encoding = Utf8Name)
            bytes = PyApi.PyUnicode_AsEncodedString(value, encoding, null);
        if (bytes == IntPtr.Zero)
        {
            PyApi.PyErr_Clear();  // UnicodeEncodeError (or out of memory, which the UTF-16 route meets again)
            return NativeMembers.StringOf(value, out text);
        }
        try
        {
            byte* data = PyApi.PyBytes_AsString(bytes);
            nint size = PyApi.PyBytes_Size(bytes);
            text = null;
            if (data == null) return -1;
            text = Utf8String(data, size);
            return 0;
        }
        finally
        {
            PyApi.Py_DecRef(bytes);
        }
    }

    /// <summary>The .NET string of <paramref name="size"/> bytes of valid UTF-8 at
    /// <paramref name="data"/>, made in a held section as <see cref="NativeMembers.NewString"/>
    /// makes its own (the caller holds the immutable bytes object).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string Utf8String(byte* data, nint size)
    {
        HeldCalls.Enter();
        try { return System.Text.Encoding.UTF8.GetString(data, checked((int)size)); }
        finally { HeldCalls.Exit(); }
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>
/// A flag in native memory that Python sets, without calling .NET, in a child process forked
/// after the runtime started: the child has none of the runtime's threads (GC, finalizer), so
/// nothing may run there. Direct-call stubs check it first and fail; Python then raises the
/// error that says to use the <c>spawn</c> start method.
/// </summary>
internal static unsafe class ForkGuard
{
    // Owner: written once by Python in a forked child (a plain int store), read by every stub.
    public static readonly int* Flag = (int*)NativeMemory.AllocZeroed(sizeof(int));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool InChild() => *Flag != 0;
}

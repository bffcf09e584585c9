using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PyClrBridge.Shim;

/// <summary>
/// Leaves the upper halves of the x86 vector registers clean before a native slot hands the
/// thread to CPython's thread-state functions. .NET's JIT writes 256-bit registers in code of its
/// own (zeroing a frame or a struct with <c>vmovdqu ymm</c>) without always clearing their upper
/// halves (<c>vzeroupper</c>) before a call into native code; CPython is compiled without AVX,
/// and with the upper halves dirty its code ran several times slower: a releasing native call of
/// <c>Dictionary[int, int]</c>'s indexer took 900 ns against 260 ns with <c>DOTNET_EnableAVX=0</c>.
/// <see cref="Clean"/> makes one 256-bit store in a method of its own, which the JIT ends with
/// <c>vzeroupper</c> (checked in its disassembly: <c>DOTNET_JitDisasm=Store</c>); that clears
/// them for a few ns. <see cref="Releasing"/> calls it before it hands the thread to
/// <c>PyEval_SaveThread</c> and <c>PyEval_RestoreThread</c>. No-op without AVX (other CPUs, ARM64).
/// </summary>
internal static unsafe class Upper
{
    /// <summary>Clears the upper halves (see the class comment).</summary>
    public static void Clean()
    {
        if (!Avx.IsSupported) return;
        Vector256<byte> scratch;  // this thread's own stack: nothing shared is written
        Store(&scratch);
    }

    // One 256-bit store through a pointer the JIT cannot see through (not inlined), so the
    // store stays and the method ends with vzeroupper.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Store(Vector256<byte>* into) => Avx.Store((byte*)into, Vector256<byte>.Zero);
}

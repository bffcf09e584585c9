using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>A native call's compiled plan (made by <see cref="NativeCallCompiler"/>, run by
/// <see cref="NativeCalls"/>): the parameter kinds and ranges the slot converts, the result
/// kind it builds, and the compiled call, held (<see cref="Invoke"/>) or releasing
/// (<see cref="Releasing"/>, whose result comes back as an <see cref="Outcome"/>).</summary>
internal sealed class NativeCallPlan : NativeMembers.Accessor
{
    internal delegate IntPtr Invoker(object? target, long l0, long l1, double d0, double d1, string? s0, string? s1, bool dry);

    /// <summary>A releasing call's result as C# values (built into Python after the GIL is back):
    /// integers, bool and char in <see cref="L"/> (ulong as its bits), double and float in
    /// <see cref="D"/>, a string in <see cref="S"/>.</summary>
#pragma warning disable CS0649  // written by the compiled expression (Expression.Field), not by C# source
    internal struct Outcome
    {
        public long L;
        public double D;
        public string? S;
        public bool Refused;  // a guarded plan's guard failed: nothing ran, the Python path takes the call
    }
#pragma warning restore CS0649

    internal delegate void ReleasingInvoker(object? target, long l0, long l1, double d0, double d1, string? s0, string? s1, bool dry, ref Outcome outcome);

    public Invoker Invoke = null!;
    public NativeMembers.Kind[] Params = Array.Empty<NativeMembers.Kind>();
    public (long Min, long Max)[] Ranges = Array.Empty<(long, long)>();
    public IntPtr Fallback;  // a NativeIndexer's Python function (a reference kept)
    // A member the GIL policy does not prove leaf: called through Release (GIL released),
    // its result built from Outcome after the GIL is back. Null for a leaf plan.
    public ReleasingInvoker? Releasing;
    public NativeMembers.Kind Result;  // None: void
    public Type Owner = typeof(object);
    public Type? Exact;  // a guarded plan serves objects of exactly this type only
    // The last exact type found to be an Owner (one reference, read and written atomically:
    // a lost race only repeats the check), so the reflection check runs once per type.
    private Type? _fits;

    /// <summary>Whether an object of exactly type <paramref name="t"/> is one this plan's
    /// compiled call may take (its cast cannot fail).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Takes(Type t)
    {
        if (Exact != null) return t == Exact;
        if (ReferenceEquals(Volatile.Read(ref _fits), t)) return true;
        if (!Owner.IsAssignableFrom(t)) return false;
        Volatile.Write(ref _fits, t);
        return true;
    }

    public override void DryRun()
    {
        if (Releasing != null)
        {
            Outcome o = default;
            Releasing(null, 0, 0, 0, 0, null, null, true, ref o);
        }
        else Invoke(null, 0, 0, 0, 0, null, null, true);
    }
}

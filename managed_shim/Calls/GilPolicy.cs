using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>
/// Which members Python may call without releasing the GIL ("short" members): exactly the
/// members <see cref="LeafProof"/> proves leaves (its rules say why such a call cannot wait),
/// looked up by the bridge's member ids. Everything else releases the GIL.
/// </summary>
internal static class GilPolicy
{
    // Verdicts per (member, variant) with the reason of a refusal: memo published by GetOrAdd,
    // never a Lazy (see LeafProof._verdicts: two threads may each need the other's answer).
    private static readonly ConcurrentDictionary<(int Member, int Variant), (bool Short, string Why)> _members = new();

    // Verdicts per (virtual member, exact runtime type): the override a call runs on that type.
    private static readonly ConcurrentDictionary<(int Member, int Type), bool> _onType = new();

    /// <summary>Whether member <paramref name="memberId"/> (<paramref name="variant"/> 1: a
    /// field's setter) may be called with the GIL held.</summary>
    public static bool IsShort(int memberId, int variant) => Verdict(memberId, variant).Short;

    /// <summary>The verdict and, for a refusal, the rule that failed and where.</summary>
    public static (bool Short, string Why) Verdict(int memberId, int variant) =>
        _members.GetOrAdd((memberId, variant), key => Decide(key.Member, key.Variant));

    /// <summary>Whether a call of virtual member <paramref name="memberId"/> on an object of exactly
    /// type <paramref name="typeId"/> is short: the override it dispatches to there is proved.</summary>
    public static bool IsShortOn(int memberId, int typeId) =>
        _onType.GetOrAdd((memberId, typeId), key => DecideOn(key.Member, key.Type));

    private static bool DecideOn(int memberId, int typeId)
    {
        try
        {
            if (TypeCatalog.MemberOf(memberId) is not MethodInfo m || m.IsStatic) return false;
            Type exact = TypeCatalog.TypeOf(typeId);
            if (exact.ContainsGenericParameters || exact.IsInterface || exact.IsAbstract) return false;
            MethodBase? target = LeafIlProof.Implementation(exact, m);
            return target != null && LeafProof.IsLeaf(target, exact, out _);
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static (bool, string) Decide(int memberId, int variant)
    {
        try
        {
            string why;
            switch (TypeCatalog.MemberOf(memberId))
            {
                case FieldInfo f:
                    return (LeafProof.IsLeafField(f, variant == 1, out why), why);
                case MethodBase m:
                    return (LeafProof.IsLeaf(m, null, out why), why);
                default:
                    return (false, "read: not a field, method or constructor");
            }
        }
        catch (Exception e)
        {
            return (false, $"read: reading it failed ({e.GetType().Name})");  // undecidable: release the GIL
        }
    }

    /// <summary>Drops the verdicts about retired types and members (their assembly is being unloaded).</summary>
    public static void Forget(Assembly dying, ISet<int> types, ISet<int> members)
    {
        LeafProof.Forget(dying);
        foreach ((int Member, int Variant) k in _members.Keys)
            if (members.Contains(k.Member)) _members.TryRemove(k, out _);
        foreach ((int Member, int Type) k in _onType.Keys)
            if (members.Contains(k.Member) || types.Contains(k.Type)) _onType.TryRemove(k, out _);
    }
}

public static unsafe partial class Exports
{
    /// <summary>1 when member <paramref name="memberId"/> (<paramref name="variant"/> 1: a field's
    /// setter) is a proved leaf, to call with the GIL held (see <see cref="LeafProof"/>), else 0.
    /// Called with the GIL released: the proof may run class constructors.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int MemberIsShort(int memberId, int variant)
    {
        try { return GilPolicy.IsShort(memberId, variant) ? 1 : 0; }
        catch (Exception) { return 0; }
    }

    /// <summary>1 when a call of virtual member <paramref name="memberId"/> on an object of exactly
    /// type <paramref name="typeId"/> is a proved leaf (see <see cref="GilPolicy.IsShortOn"/>), else 0.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int MemberIsShortOn(int memberId, int typeId)
    {
        try { return GilPolicy.IsShortOn(memberId, typeId) ? 1 : 0; }
        catch (Exception) { return 0; }
    }

    /// <summary>Why member <paramref name="memberId"/> is not a leaf (the rule that failed and
    /// where; empty when it is one), as text in <paramref name="result"/>.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int MemberShortReason(int memberId, int variant, Value* result, Value* error)
    {
        try
        {
            string why = GilPolicy.Verdict(memberId, variant).Why;
            Arena.Reset();
            Values.SetString(result, why);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }
}

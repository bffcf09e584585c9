using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>The run-time preparation of a proved leaf (for <see cref="LeafProof"/>, rules
/// "cctors-done" and "prepared"): class constructors run and confirmed finished, reached methods
/// compiled, all with the GIL released.</summary>
internal static class LeafPreparation
{
    // Types whose class constructor is confirmed finished: a fact that never becomes false.
    private static readonly ConcurrentDictionary<Type, bool> _initialized = new();

    /// <summary>Runs <paramref name="t"/>'s class constructor on this thread, then confirms
    /// from another thread that it finished (a thread running it, this one included, makes
    /// that thread wait: a timeout means still running). Null when finished.</summary>
    internal static string? EnsureInitialized(Type t)
    {
        if (_initialized.ContainsKey(t)) return null;
        try
        {
            RuntimeHelpers.RunClassConstructor(t.TypeHandle);
        }
        catch (Exception e)
        {
            return $"cctors-done: the class constructor of {t} failed ({e.GetType().Name})";
        }
        if (t.TypeInitializer != null)
        {
            RuntimeTypeHandle h = t.TypeHandle;
            var confirm = new Thread(() =>
            {
                try { RuntimeHelpers.RunClassConstructor(h); } catch (Exception) { /* failed: not confirmed */ }
            }) { IsBackground = true, Name = "pyclrbridge cctor check" };
            confirm.Start();
            if (!confirm.Join(TimeSpan.FromSeconds(1)))
                return $"cctors-done: the class constructor of {t} is still running";
        }
        _initialized.TryAdd(t, true);
        return null;
    }

    internal static string? Prepare(MethodBase m)
    {
        try
        {
            var args = new List<RuntimeTypeHandle>();
            if (m.DeclaringType is { IsGenericType: true } dt)
                foreach (Type a in dt.GetGenericArguments()) args.Add(a.TypeHandle);
            if (m.IsGenericMethod)
                foreach (Type a in m.GetGenericArguments()) args.Add(a.TypeHandle);
            if (args.Count == 0) RuntimeHelpers.PrepareMethod(m.MethodHandle);
            else RuntimeHelpers.PrepareMethod(m.MethodHandle, args.ToArray());
            return null;
        }
        catch (Exception e)
        {
            return $"prepared: {m.DeclaringType}.{m.Name} could not be compiled in advance ({e.GetType().Name})";
        }
    }

    /// <summary>Drops the types of an assembly being unloaded.</summary>
    internal static void Forget(Assembly dying)
    {
        foreach (Type t in _initialized.Keys)
            if (Collectibles.DependsOn(t, dying)) _initialized.TryRemove(t, out _);
    }
}

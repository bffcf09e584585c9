using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// Unloading the collectible assemblies emitted for Python classes: when a Python class dies,
/// every table of the shim that refers to its type lets go (<see cref="Forget"/>), so that
/// only live instances (and .NET code that holds the type) keep the assembly loaded.
/// </summary>
internal static class Collectibles
{
    // Owner: _lock. Weak references to every collectible assembly emitted, for the count of
    // those still loaded (diagnostics and tests); appended at emission, pruned when counted.
    private static readonly object _lock = new();
    private static readonly List<WeakReference> _assemblies = new();
    private static long _emitted;
    private static long _forgotten;

    public static void Track(Assembly a)
    {
        lock (_lock) _assemblies.Add(new WeakReference(a));
        Interlocked.Increment(ref _emitted);
    }

    /// <summary>Collectible assemblies emitted so far that the runtime has not unloaded yet.</summary>
    public static int Alive()
    {
        lock (_lock)
        {
            _assemblies.RemoveAll(w => !w.IsAlive);
            return _assemblies.Count;
        }
    }

    public static long Emitted => Interlocked.Read(ref _emitted);
    public static long Forgotten => Interlocked.Read(ref _forgotten);

    /// <summary>Whether <paramref name="t"/> is, or is built from, a type of <paramref name="dying"/>.</summary>
    public static bool DependsOn(Type? t, Assembly dying)
    {
        if (t == null || !t.IsCollectible) return false;  // a non-collectible type never refers to one
        if (t.Assembly == dying) return true;
        if (t.HasElementType) return DependsOn(t.GetElementType(), dying);
        if (t.IsGenericType && !t.IsGenericTypeDefinition) return t.GetGenericArguments().Any(a => DependsOn(a, dying));
        return DependsOn(t.BaseType, dying);  // a Python subclass of a Python subclass
    }

    public static bool DependsOn(MemberInfo m, Assembly dying)
    {
        if (m is Type t) return DependsOn(t, dying);
        if (m.Module.Assembly == dying || DependsOn(m.DeclaringType, dying) || DependsOn(m.ReflectedType, dying)) return true;
        return m is MethodInfo { IsGenericMethod: true } g && g.GetGenericArguments().Any(a => DependsOn(a, dying));
    }

    /// <summary>The shim's tables let go of everything that refers to <paramref name="dying"/>.</summary>
    public static void Forget(Assembly dying)
    {
        (HashSet<int> types, HashSet<int> members) = TypeCatalog.Forget(dying);
        Invokers.Forget(members);
        DirectCalls.Forget(members);
        GilPolicy.Forget(dying, types, members);
        Conversions.Forget(dying);
        TypeDescriber.Forget(dying);
        DelegateFactory.Forget(dying);
        DynamicMembers.Forget(dying);
        Interlocked.Increment(ref _forgotten);
    }

    /// <summary>
    /// Whether the type for a Python class may go into a collectible assembly: not when it
    /// derives from or implements a COM import (collectible types cannot take part in COM
    /// interop). A base from a collectible assembly (a Python class) needs a collectible one.
    /// </summary>
    public static bool Allowed(Type baseType, Type[] interfaces) =>
        baseType.IsCollectible || !(baseType.IsImport || interfaces.Any(i => i.IsImport) || HasComBase(baseType));

    private static bool HasComBase(Type t)
    {
        for (Type? b = t; b != null; b = b.BaseType)
            if (b.IsImport || b.IsCOMObject || b.GetCustomAttribute<ComImportAttribute>() != null) return true;
        return false;
    }
}

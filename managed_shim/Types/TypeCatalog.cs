using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// Small integer ids for types and members, so Python can name them without handles.
/// Ids are never reused; entries go only when their collectible assembly unloads (<see cref="Forget"/>).
/// </summary>
internal static class TypeCatalog
{
    // Owner: _idLock guards id assignment (check-then-add must be one step); the two
    // dictionaries are concurrent so lookups never take the lock.
    private static readonly object _idLock = new();
    private static readonly ConcurrentDictionary<Type, int> _typeIds = new();
    private static readonly ConcurrentDictionary<int, Type> _types = new();
    private static readonly ConcurrentDictionary<MemberInfo, int> _memberIds = new();
    private static readonly ConcurrentDictionary<int, MemberInfo> _members = new();
    private static int _nextTypeId;
    private static int _nextMemberId;

    public static int IdOf(Type t)
    {
        if (_typeIds.TryGetValue(t, out int id)) return id;
        lock (_idLock)
        {
            if (_typeIds.TryGetValue(t, out id)) return id;
            id = ++_nextTypeId;
            _types[id] = t;          // reverse entry first: an id is never seen before it resolves
            _typeIds[t] = id;
            return id;
        }
    }

    public static Type TypeOf(int id) =>
        _types.TryGetValue(id, out Type? t) ? t : throw new ArgumentException($"unknown type id {id}");

    public static int IdOf(MemberInfo m)
    {
        if (m is Type t && !t.IsValueType) throw new ArgumentException("only value types have a default-constructor member");
        if (_memberIds.TryGetValue(m, out int id)) return id;
        lock (_idLock)
        {
            if (_memberIds.TryGetValue(m, out id)) return id;
            id = ++_nextMemberId;
            _members[id] = m;
            _memberIds[m] = id;
            return id;
        }
    }

    public static MemberInfo MemberOf(int id) =>
        _members.TryGetValue(id, out MemberInfo? m) ? m : throw new ArgumentException($"unknown member id {id}");

    /// <summary>The member with id <paramref name="id"/>, or null (never throws).</summary>
    public static MemberInfo? FindMember(int id) => _members.TryGetValue(id, out MemberInfo? m) ? m : null;

    public static int TypeCount => _types.Count;
    public static int MemberCount => _members.Count;

    /// <summary>Finds a type by full or assembly-qualified name in every loaded assembly.</summary>
    public static Type? Find(string name)
    {
        // A public type wins over an internal one of the same name: CoreLib has internal copies
        // of public types defined elsewhere (System.Reflection.Metadata.TypeNameParseOptions).
        Type? hidden = null;
        Type? t = Type.GetType(name, throwOnError: false);
        if (t != null)
        {
            if (t.IsVisible) return t;
            hidden = t;
        }
        foreach (Assembly a in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (a.IsDynamic) continue;
            t = a.GetType(name, throwOnError: false);
            if (t == null) continue;
            if (t.IsVisible) return t;
            hidden ??= t;
        }
        if (hidden != null) return hidden;
        // Names whose parts live in different assemblies without saying so
        // ("Fixtures.Generics.Multi`1[System.Int32]"): resolve every part in every loaded assembly.
        try { return Type.GetType(name, ResolveAssembly, ResolvePart, throwOnError: false); }
        catch (Exception e) when (e is ArgumentException or IOException or BadImageFormatException) { return null; }
    }

    private static Assembly? ResolveAssembly(AssemblyName name)
    {
        foreach (Assembly a in AppDomain.CurrentDomain.GetAssemblies())
            if (AssemblyName.ReferenceMatchesDefinition(name, a.GetName())) return a;
        return null;
    }

    private static Type? ResolvePart(Assembly? assembly, string name, bool ignoreCase)
    {
        if (assembly != null) return assembly.GetType(name, false, ignoreCase);
        foreach (Assembly a in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (a.IsDynamic) continue;
            Type? t = a.GetType(name, false, ignoreCase);
            if (t != null) return t;
        }
        return null;
    }

    /// <summary>
    /// Drops every type and member that depends on the collectible assembly <paramref name="dying"/>
    /// (its types, their members, generic instantiations over them), so the assembly can unload.
    /// The ids are retired, never reused: looking one up fails with "unknown ... id".
    /// </summary>
    public static (HashSet<int> Types, HashSet<int> Members) Forget(Assembly dying)
    {
        var types = new HashSet<int>();
        var members = new HashSet<int>();
        lock (_idLock)
        {
            foreach ((int id, Type t) in _types)
            {
                if (!Collectibles.DependsOn(t, dying)) continue;
                types.Add(id);
                _types.TryRemove(id, out _);
                _typeIds.TryRemove(t, out _);
            }
            foreach ((int id, MemberInfo m) in _members)
            {
                if (!Collectibles.DependsOn(m, dying)) continue;
                members.Add(id);
                _members.TryRemove(id, out _);
                _memberIds.TryRemove(m, out _);
            }
        }
        return (types, members);
    }
}

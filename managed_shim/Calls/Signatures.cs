using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;

namespace PyClrBridge.Shim;

/// <summary>Readable names and signatures for types and members (what help() shows).</summary>
internal static class Signatures
{
    public static string TypeName(Type t)
    {
        if (t.IsByRef) return TypeName(t.GetElementType()!);
        if (t.IsArray)
            return TypeName(t.GetElementType()!) + "[" + new string(',', t.GetArrayRank() - 1) + "]";
        if (t.IsGenericParameter) return t.Name;
        Type? nullable = Nullable.GetUnderlyingType(t);
        if (nullable != null) return TypeName(nullable) + "?";
        string name = t.Name;
        int tick = name.IndexOf('`');
        if (tick >= 0) name = name.Substring(0, tick);
        if (t.IsNested && t.DeclaringType != null && !t.IsGenericParameter)
            name = TypeName(t.DeclaringType) + "." + name;
        if (t.IsGenericType)
        {
            Type[] args = t.GetGenericArguments();
            int inherited = t.DeclaringType?.GetGenericArguments().Length ?? 0;
            Type[] own = args.Skip(inherited).ToArray();
            if (own.Length > 0) name += "[" + string.Join(", ", own.Select(TypeName)) + "]";
        }
        return name;
    }

    public static string Key(MethodInfo m) =>
        m.Name + "`" + m.GetGenericArguments().Length + "(" +
        string.Join(",", m.GetParameters().Select(p => p.ParameterType.ToString())) + ")";

    public static string Of(MethodBase m)
    {
        string prefix = m is MethodInfo mi ? TypeName(mi.ReturnType) + " " : "";
        string name = m is ConstructorInfo ? TypeName(m.DeclaringType!) : m.Name;
        if (m.IsGenericMethodDefinition)
            name += "[" + string.Join(", ", m.GetGenericArguments().Select(a => a.Name)) + "]";
        string ps = string.Join(", ", m.GetParameters().Select(Parameter));
        string stat = m.IsStatic && m is MethodInfo ? "static " : "";
        return $"{stat}{prefix}{name}({ps})";
    }

    private static string Parameter(ParameterInfo p)
    {
        string mode = p.ParameterType.IsByRef ? (p.IsOut ? "out " : "ref ") : "";
        if (IsParams(p)) mode = "params ";
        string text = $"{mode}{TypeName(p.ParameterType)} {p.Name}";
        if (HasDefault(p)) text += " = " + Literal(p.DefaultValue);
        return text;
    }

    // HasDefaultValue and IsDefined read custom attributes (slow, and asked for every parameter
    // of every overload when a class is described): look at the cheap metadata flags first.

    /// <summary>True for a <c>params T[]</c> parameter.</summary>
    public static bool IsParams(ParameterInfo p) =>
        p.ParameterType.IsArray && IsLast(p) && p.IsDefined(typeof(ParamArrayAttribute), false);

    /// <summary>The last parameter of a method, or the last index of an indexer
    /// (<c>this[string root, params int[] path]</c>).</summary>
    private static bool IsLast(ParameterInfo p) => p.Member switch
    {
        MethodBase m => p.Position == m.GetParameters().Length - 1,
        PropertyInfo indexer => p.Position == indexer.GetIndexParameters().Length - 1,
        _ => false,
    };

    /// <summary>True when the parameter has a default value (<c>int x = 3</c>).</summary>
    public static bool HasDefault(ParameterInfo p) =>
        (p.Attributes & (ParameterAttributes.HasDefault | ParameterAttributes.Optional)) != 0 && p.HasDefaultValue;

    public static string Literal(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s + "\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>User-defined conversion operators (op_Implicit / op_Explicit), looked up once per pair.</summary>
internal static class Conversions
{
    // Concurrent: a pure memo of (from, to) -> operator; a lost race recomputes the same answer.
    private static readonly ConcurrentDictionary<(Type, Type), MethodInfo?> _ops = new();

    public static MethodInfo? Find(Type from, Type to) => _ops.GetOrAdd((from, to), static key =>
    {
        (Type f, Type t) = key;
        // C# looks for operators on the source and target types and on their base classes.
        MethodInfo[] ops = Owners(t).Concat(Owners(f)).Distinct().SelectMany(Operators).ToArray();
        foreach (MethodInfo m in ops)
        {
            if (m.ReturnType != t) continue;
            ParameterInfo[] ps = m.GetParameters();
            if (ps.Length == 1 && ps[0].ParameterType.IsAssignableFrom(f)) return m;
        }
        // C# also applies a standard implicit numeric conversion before a user-defined one
        // (int -> double -> Meters); reflection's Invoke widens primitive arguments itself.
        foreach (MethodInfo m in ops)
        {
            if (m.Name != "op_Implicit" || m.ReturnType != t) continue;
            ParameterInfo[] ps = m.GetParameters();
            if (ps.Length == 1 && Widens(f, ps[0].ParameterType)) return m;
        }
        return null;
    });

    /// <summary>A type and its base classes (the places a conversion operator may be declared).</summary>
    private static IEnumerable<Type> Owners(Type t)
    {
        for (Type? c = Nullable.GetUnderlyingType(t) ?? t; c != null && c != typeof(object); c = c.BaseType)
            yield return c;
    }

    /// <summary>The op_Implicit / op_Explicit methods a type declares itself.</summary>
    private static IEnumerable<MethodInfo> Operators(Type owner) =>
        owner.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(m => m.Name is "op_Implicit" or "op_Explicit");

    /// <summary>The implicit numeric conversions of the C# specification (section 10.2.3).</summary>
    private static bool Widens(Type from, Type to)
    {
        if (!from.IsPrimitive || !to.IsPrimitive) return false;
        TypeCode f = Type.GetTypeCode(from), t = Type.GetTypeCode(to);
        return f switch
        {
            TypeCode.SByte => t is TypeCode.Int16 or TypeCode.Int32 or TypeCode.Int64 or TypeCode.Single or TypeCode.Double,
            TypeCode.Byte => t is TypeCode.Int16 or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32 or TypeCode.Int64
                or TypeCode.UInt64 or TypeCode.Single or TypeCode.Double,
            TypeCode.Int16 => t is TypeCode.Int32 or TypeCode.Int64 or TypeCode.Single or TypeCode.Double,
            TypeCode.UInt16 => t is TypeCode.Int32 or TypeCode.UInt32 or TypeCode.Int64 or TypeCode.UInt64
                or TypeCode.Single or TypeCode.Double,
            TypeCode.Int32 => t is TypeCode.Int64 or TypeCode.Single or TypeCode.Double,
            TypeCode.UInt32 => t is TypeCode.Int64 or TypeCode.UInt64 or TypeCode.Single or TypeCode.Double,
            TypeCode.Int64 or TypeCode.UInt64 => t is TypeCode.Single or TypeCode.Double,
            TypeCode.Char => t is TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32 or TypeCode.Int64
                or TypeCode.UInt64 or TypeCode.Single or TypeCode.Double,
            TypeCode.Single => t == TypeCode.Double,
            _ => false,
        };
    }

    public static bool HasImplicit(Type from, Type to)
    {
        MethodInfo? m = Find(from, to);
        return m != null && m.Name == "op_Implicit";
    }

    /// <summary>Drops the operator lookups that involve types of an unloading assembly.</summary>
    public static void Forget(Assembly dying)
    {
        foreach ((Type, Type) k in _ops.Keys)
            if (Collectibles.DependsOn(k.Item1, dying) || Collectibles.DependsOn(k.Item2, dying)) _ops.TryRemove(k, out _);
    }
}

using System;
using System.Collections.Concurrent;
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
        if (p.IsDefined(typeof(ParamArrayAttribute), false)) mode = "params ";
        string text = $"{mode}{TypeName(p.ParameterType)} {p.Name}";
        if (p.HasDefaultValue) text += " = " + Literal(p.DefaultValue);
        return text;
    }

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
        foreach (Type owner in new[] { t, f })
            foreach (MethodInfo m in owner.GetMethods(BindingFlags.Public | BindingFlags.Static))
            {
                if ((m.Name != "op_Implicit" && m.Name != "op_Explicit") || m.ReturnType != t) continue;
                ParameterInfo[] ps = m.GetParameters();
                if (ps.Length == 1 && ps[0].ParameterType.IsAssignableFrom(f)) return m;
            }
        return null;
    });

    public static bool HasImplicit(Type from, Type to)
    {
        MethodInfo? m = Find(from, to);
        return m != null && m.Name == "op_Implicit";
    }
}

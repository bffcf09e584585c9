using System;
using System.Linq;
using System.Reflection;

namespace PyClrBridge.Shim;

/// <summary>Says which constraint of a generic type or method its type arguments break, in
/// C#'s words (<c>where T : struct</c>), for the TypeError Python raises. Stateless.</summary>
internal static class Constraints
{
    /// <summary>The first broken constraint of <paramref name="parameters"/> given
    /// <paramref name="args"/>, as a sentence naming the argument, the parameter, the owner and
    /// the constraint; null when none is found (the runtime's own message is used then).</summary>
    public static string? Explain(Type[] parameters, Type[] args, string owner)
    {
        if (parameters.Length != args.Length)
            return $"{owner} takes {parameters.Length} type argument(s), not {args.Length}";
        for (int i = 0; i < parameters.Length; i++)
        {
            Type p = parameters[i], a = args[i];
            string? broken = Broken(p, a, parameters, args);
            if (broken != null)
                return $"{Signatures.TypeName(a)} cannot be {p.Name} of {owner}: it does not satisfy 'where {p.Name} : {broken}'";
        }
        return null;
    }

    private static string? Broken(Type p, Type a, Type[] parameters, Type[] args)
    {
        GenericParameterAttributes attrs = p.GenericParameterAttributes;
        bool nullable = Nullable.GetUnderlyingType(a) != null;
        if ((attrs & GenericParameterAttributes.NotNullableValueTypeConstraint) != 0 && (!a.IsValueType || nullable))
            return "struct";
        if ((attrs & GenericParameterAttributes.ReferenceTypeConstraint) != 0 && a.IsValueType)
            return "class";
        if ((attrs & GenericParameterAttributes.DefaultConstructorConstraint) != 0 && !a.IsValueType
            && (a.IsAbstract || a.GetConstructor(Type.EmptyTypes) == null))
            return "new()";
        foreach (Type c in p.GetGenericParameterConstraints())
        {
            Type wanted;
            try { wanted = Substitute(c, parameters, args); }
            catch (ArgumentException) { continue; }  // the constraint itself cannot be built with these arguments
            if (wanted == typeof(ValueType) && a.IsValueType) continue;
            if (!wanted.IsAssignableFrom(a)) return Signatures.TypeName(c);
        }
        return null;
    }

    /// <summary><paramref name="t"/> with the generic parameters replaced by their arguments
    /// (<c>IComparable&lt;T&gt;</c> for T = Object is <c>IComparable&lt;Object&gt;</c>).</summary>
    private static Type Substitute(Type t, Type[] parameters, Type[] args)
    {
        if (t.IsGenericParameter)
        {
            int i = Array.IndexOf(parameters, t);
            return i >= 0 ? args[i] : t;
        }
        if (t.IsArray)
        {
            Type e = Substitute(t.GetElementType()!, parameters, args);
            return t.IsSZArray ? e.MakeArrayType() : e.MakeArrayType(t.GetArrayRank());
        }
        if (!t.IsGenericType || !t.ContainsGenericParameters) return t;
        return t.GetGenericTypeDefinition().MakeGenericType(t.GetGenericArguments().Select(g => Substitute(g, parameters, args)).ToArray());
    }
}

using System;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;

namespace PyClrBridge.Shim;

/// <summary>
/// Signatures of the methods <see cref="Derived"/> emits: the same as the method they override
/// or implement, generic methods included (their own type parameters stand in for the
/// declaration's). Stateless; callers hold the emission lock while they use the builders.
/// </summary>
internal static class MethodShapes
{
    /// <summary>
    /// A method with <paramref name="m"/>'s signature; for a generic method its own type
    /// parameters (same names, attributes and constraints) stand in for <paramref name="m"/>'s
    /// (<c>ILogger.Log&lt;TState&gt;</c>), so the signature matches the declaration it implements.
    /// </summary>
    public static MethodBuilder DefineLike(TypeBuilder tb, string name, MethodAttributes attributes, MethodInfo m)
    {
        MethodBuilder mb = tb.DefineMethod(name, attributes);
        Type[] own = Type.EmptyTypes, builders = Type.EmptyTypes;
        if (m.IsGenericMethodDefinition)
        {
            own = m.GetGenericArguments();
            GenericTypeParameterBuilder[] gps = mb.DefineGenericParameters(own.Select(a => a.Name).ToArray());
            builders = gps;
            for (int i = 0; i < own.Length; i++)
            {
                gps[i].SetGenericParameterAttributes(own[i].GenericParameterAttributes);
                Type[] constraints = own[i].GetGenericParameterConstraints().Select(c => Substitute(c, own, builders)).ToArray();
                Type? baseConstraint = constraints.FirstOrDefault(c => !c.IsInterface);
                if (baseConstraint != null) gps[i].SetBaseTypeConstraint(baseConstraint);
                Type[] interfaceConstraints = constraints.Where(c => c.IsInterface).ToArray();
                if (interfaceConstraints.Length > 0) gps[i].SetInterfaceConstraints(interfaceConstraints);
            }
        }
        mb.SetReturnType(Substitute(m.ReturnType, own, builders));
        mb.SetParameters(m.GetParameters().Select(p => Substitute(p.ParameterType, own, builders)).ToArray());
        return mb;
    }

    /// <summary><paramref name="t"/> with the method type parameters <paramref name="from"/> replaced by <paramref name="to"/>.</summary>
    private static Type Substitute(Type t, Type[] from, Type[] to)
    {
        if (from.Length == 0 || !t.ContainsGenericParameters) return t;
        if (t.IsGenericParameter)
            return t.DeclaringMethod != null && t.GenericParameterPosition < to.Length && from[t.GenericParameterPosition] == t
                ? to[t.GenericParameterPosition] : t;
        if (t.IsByRef) return Substitute(t.GetElementType()!, from, to).MakeByRefType();
        if (t.IsPointer) return Substitute(t.GetElementType()!, from, to).MakePointerType();
        if (t.IsArray)
        {
            Type e = Substitute(t.GetElementType()!, from, to);
            return t.IsSZArray ? e.MakeArrayType() : e.MakeArrayType(t.GetArrayRank());
        }
        if (t.IsGenericType)
            return t.GetGenericTypeDefinition().MakeGenericType(t.GetGenericArguments().Select(a => Substitute(a, from, to)).ToArray());
        return t;
    }

    /// <summary>The parameter and return types of a method being emitted (type parameters as its own).</summary>
    public static (Type[] Parameters, Type Return) EmittedSignature(MethodBuilder mb, MethodInfo m)
    {
        if (!m.IsGenericMethodDefinition)
            return (m.GetParameters().Select(p => p.ParameterType).ToArray(), m.ReturnType);
        Type[] own = m.GetGenericArguments(), builders = mb.GetGenericArguments();
        return (m.GetParameters().Select(p => Substitute(p.ParameterType, own, builders)).ToArray(),
            Substitute(m.ReturnType, own, builders));
    }
}

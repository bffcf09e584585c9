using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;

namespace PyClrBridge.Shim;

/// <summary>
/// The Reflection.Emit half of <see cref="Derived"/>: the type for one Python class (run under
/// Derived's emission lock). It derives from the .NET base, implements the interfaces, holds the
/// Python object in a <see cref="PythonSelfRef"/> field, and each member Python defines (and each
/// abstract one) calls back into Python through <see cref="PythonDerivedSupport.Dispatch"/>; for
/// every overridden base method it also emits a non-virtual caller (<c>super().Method()</c>).
/// </summary>
internal static class DerivedEmitter
{
    private static readonly MethodInfo _bind = typeof(PythonDerivedSupport).GetMethod(nameof(PythonDerivedSupport.Bind))
        ?? throw new MissingMethodException(nameof(PythonDerivedSupport), nameof(PythonDerivedSupport.Bind));
    private static readonly MethodInfo _refOf = typeof(PythonDerivedSupport).GetMethod(nameof(PythonDerivedSupport.RefOf))
        ?? throw new MissingMethodException(nameof(PythonDerivedSupport), nameof(PythonDerivedSupport.RefOf));
    private static readonly MethodInfo _dispatch = typeof(PythonDerivedSupport).GetMethod(nameof(PythonDerivedSupport.Dispatch))
        ?? throw new MissingMethodException(nameof(PythonDerivedSupport), nameof(PythonDerivedSupport.Dispatch));
    private static readonly ConstructorInfo _notImplemented = typeof(NotImplementedException).GetConstructor(new[] { typeof(string) })
        ?? throw new MissingMethodException(nameof(NotImplementedException), ".ctor");
    private static readonly MethodInfo _typeFromHandle = typeof(Type).GetMethod(nameof(Type.GetTypeFromHandle))
        ?? throw new MissingMethodException(nameof(Type), nameof(Type.GetTypeFromHandle));
    private static readonly MethodInfo _dispatchAs = typeof(PythonDerivedSupport).GetMethod(nameof(PythonDerivedSupport.DispatchAs))
        ?? throw new MissingMethodException(nameof(PythonDerivedSupport), nameof(PythonDerivedSupport.DispatchAs));
    private static readonly MethodInfo _selfGetter = typeof(IPythonDerived).GetProperty(nameof(IPythonDerived.PythonSelf))!.GetMethod
        ?? throw new MissingMethodException(nameof(IPythonDerived), "get_PythonSelf");

    /// <summary>A member a Python class declares for .NET (pythonnet's clrmethod / clrproperty):
    /// kind "method" (Type: the return type, Params) or "property" (Type, Get, Set); Py is the
    /// Python attribute that implements it.</summary>
    internal sealed record Declared(string Kind, string Name, string Py, Type Type, Type[] Params, bool Get, bool Set);

    /// <summary>Public members for the declared ones: each calls its Python attribute as an
    /// override does. Their signatures come from an interface emitted beside the type only as a
    /// template (never implemented), so the override emitter serves them unchanged.</summary>
    private static void EmitDeclared(ModuleBuilder module, TypeBuilder tb, string typeName, string className,
        List<Declared> declared, List<int> slots)
    {
        if (declared.Count == 0) return;
        TypeBuilder shapes = module.DefineType(typeName + "+DeclaredSignatures",
            TypeAttributes.Public | TypeAttributes.Interface | TypeAttributes.Abstract);
        const MethodAttributes Template = MethodAttributes.Public | MethodAttributes.Abstract | MethodAttributes.Virtual |
            MethodAttributes.HideBySig | MethodAttributes.NewSlot;
        foreach (Declared d in declared)
        {
            if (d.Kind == "method")
            {
                MethodBuilder t = shapes.DefineMethod(d.Name, Template, d.Type, d.Params);
                for (int i = 0; i < d.Params.Length; i++) t.DefineParameter(i + 1, ParameterAttributes.None, $"arg{i}");
                continue;
            }
            if (d.Get) shapes.DefineMethod("get_" + d.Name, Template, d.Type, Type.EmptyTypes);
            if (d.Set) shapes.DefineMethod("set_" + d.Name, Template, typeof(void), new[] { d.Type }).DefineParameter(1, ParameterAttributes.None, "value");
        }
        Type templates = shapes.CreateType() ?? throw new TypeLoadException($"could not create the signatures of {typeName}");
        const MethodAttributes Member = MethodAttributes.Public | MethodAttributes.Virtual | MethodAttributes.HideBySig | MethodAttributes.NewSlot;
        foreach (Declared d in declared)
        {
            if (d.Kind == "method")
            {
                MethodInfo m = templates.GetMethod(d.Name, d.Params)!;
                EmitBody(MethodShapes.DefineLike(tb, d.Name, Member, m), m, d.Py, className, slots);
                continue;
            }
            PropertyBuilder property = tb.DefineProperty(d.Name, PropertyAttributes.None, d.Type, null);
            if (d.Get)
            {
                MethodInfo m = templates.GetMethod("get_" + d.Name)!;
                MethodBuilder getter = MethodShapes.DefineLike(tb, "get_" + d.Name, Member | MethodAttributes.SpecialName, m);
                EmitBody(getter, m, "get:" + d.Py, className, slots);
                property.SetGetMethod(getter);
            }
            if (d.Set)
            {
                MethodInfo m = templates.GetMethod("set_" + d.Name)!;
                MethodBuilder setter = MethodShapes.DefineLike(tb, "set_" + d.Name, Member | MethodAttributes.SpecialName, m);
                EmitBody(setter, m, "set:" + d.Py, className, slots);
                property.SetSetMethod(setter);
            }
        }
    }

    /// <summary>Emits the type numbered <paramref name="n"/> for one Python class (caller:
    /// <see cref="Derived.Define"/>, under its emission lock): the slots of its overrides go to
    /// <paramref name="slots"/>, its base callers (name, base method) to <paramref name="baseCallers"/>.</summary>
    internal static Type Emit(int n, string name, string? fullName, Type baseType, Type[] interfaces, HashSet<string> names,
        Dictionary<string, (int Fewest, int Most)> arity, List<Declared> declared, List<int> slots,
        List<(string, RuntimeMethodHandle)> baseCallers)
    {
        // One assembly per Python class, collectible unless COM interop forbids it
        // (Collectibles.Allowed): it unloads when the class and all its instances are gone.
        bool collectible = Collectibles.Allowed(baseType, interfaces);
        AssemblyBuilder ab = AssemblyBuilder.DefineDynamicAssembly(new AssemblyName($"PyClrBridge.PythonTypes.{n}"),
            collectible ? AssemblyBuilderAccess.RunAndCollect : AssemblyBuilderAccess.Run);
        ModuleBuilder module = ab.DefineDynamicModule("PyClrBridge.PythonTypes");
        string typeName = fullName ?? $"Python.{new string(name.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray())}_{n}";
        Type[] allInterfaces = interfaces.Concat(interfaces.SelectMany(i => i.GetInterfaces())).Distinct().ToArray();
        TypeBuilder tb = module.DefineType(typeName, TypeAttributes.Public | TypeAttributes.Class, baseType,
            allInterfaces.Append(typeof(IPythonDerived)).ToArray());
        FieldBuilder self = tb.DefineField("__python", typeof(PythonSelfRef), FieldAttributes.Private);

        MethodBuilder getSelf = tb.DefineMethod("IPythonDerived.get_PythonSelf",
            MethodAttributes.Private | MethodAttributes.Virtual | MethodAttributes.Final | MethodAttributes.HideBySig | MethodAttributes.NewSlot,
            typeof(PyObjectRef), Type.EmptyTypes);
        ILGenerator g = getSelf.GetILGenerator();
        g.Emit(OpCodes.Ldarg_0);
        g.Emit(OpCodes.Ldfld, self);
        g.Emit(OpCodes.Call, _refOf);
        g.Emit(OpCodes.Ret);
        tb.DefineMethodOverride(getSelf, _selfGetter);

        EmitConstructors(tb, baseType, self);

        if (baseType != typeof(object) || names.Overlaps(new[] { "ToString", "Equals", "GetHashCode" }))
        {
            foreach (MethodInfo m in Overridable(baseType))
            {
                string pyName = PythonName(m);
                bool defined = names.Contains(pyName.Split(':').Last());
                // A virtual member is overridden only by a Python method that can take its
                // arguments: IEqualityComparer's Equals(a, b) must not replace object.Equals(o).
                if (defined && !m.IsAbstract && !Accepts(arity, pyName, m)) defined = false;
                if (!defined && !m.IsAbstract) continue;
                MethodBuilder mb = MethodShapes.DefineLike(tb, m.Name,
                    (m.Attributes & MethodAttributes.MemberAccessMask) | MethodAttributes.Virtual | MethodAttributes.HideBySig, m);
                EmitBody(mb, m, defined ? pyName : null, name, slots);
                tb.DefineMethodOverride(mb, m);
                if (!m.IsAbstract)
                {
                    string callerName = $"__base_{m.Name}_{baseCallers.Count}";
                    EmitBaseCaller(tb, callerName, m);
                    baseCallers.Add((callerName, m.MethodHandle));
                }
            }
        }
        foreach (Type iface in allInterfaces)
        {
            foreach (MethodInfo m in iface.GetMethods(BindingFlags.Public | BindingFlags.Instance))
            {
                if (!m.IsAbstract) continue;  // default interface methods keep their body
                if (baseType.IsAssignableTo(iface) && !names.Contains(PythonName(m).Split(':').Last())) continue;
                string pyName = PythonName(m);
                bool defined = names.Contains(pyName.Split(':').Last());
                MethodBuilder mb = MethodShapes.DefineLike(tb, $"{Signatures.TypeName(iface)}.{m.Name}",
                    MethodAttributes.Private | MethodAttributes.Virtual | MethodAttributes.Final | MethodAttributes.HideBySig | MethodAttributes.NewSlot, m);
                EmitBody(mb, m, defined ? pyName : null, name, slots);
                tb.DefineMethodOverride(mb, m);
            }
        }
        EmitDeclared(module, tb, typeName, name, declared, slots);
        Type created = tb.CreateType() ?? throw new TypeLoadException($"could not create {typeName}");
        if (collectible) Collectibles.Track(created.Assembly);  // the runtime assembly, not its builder
        return created;
    }

    private static bool Accepts(Dictionary<string, (int Fewest, int Most)> arity, string pyName, MethodInfo m)
    {
        if (!arity.TryGetValue(pyName, out var a)) return true;  // properties, callables of unknown shape
        int n = m.GetParameters().Count(p => !(p.IsOut && p.ParameterType.IsByRef));
        return a.Fewest <= n && (a.Most < 0 || n <= a.Most);
    }

    /// <summary>Virtual members of a class that a subclass may override (most derived first).</summary>
    private static IEnumerable<MethodInfo> Overridable(Type baseType)
    {
        var seen = new HashSet<RuntimeMethodHandle>();
        foreach (MethodInfo m in baseType.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance))
        {
            if (!m.IsVirtual || m.IsFinal) continue;
            if (!(m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly)) continue;
            if (m.Name == "Finalize" || m.DeclaringType!.IsInterface) continue;
            if (seen.Add(m.GetBaseDefinition().MethodHandle)) yield return m;
        }
    }

    /// <summary>"Compare" for a method, "get:Name"/"set:Name" for property accessors.</summary>
    private static string PythonName(MethodInfo m)
    {
        if (m.IsSpecialName && m.GetParameters().Length <= 1)
        {
            if (m.Name.StartsWith("get_", StringComparison.Ordinal)) return "get:" + m.Name[4..];
            if (m.Name.StartsWith("set_", StringComparison.Ordinal)) return "set:" + m.Name[4..];
        }
        return m.Name;
    }

    private static void EmitConstructors(TypeBuilder tb, Type baseType, FieldBuilder self)
    {
        var ctors = baseType.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
            .Where(c => c.IsPublic || c.IsFamily || c.IsFamilyOrAssembly).ToArray();
        if (ctors.Length == 0) throw new TypeLoadException($"{Signatures.TypeName(baseType)} has no accessible constructor");
        foreach (ConstructorInfo c in ctors)
        {
            ParameterInfo[] ps = c.GetParameters();
            ConstructorBuilder cb = tb.DefineConstructor(MethodAttributes.Public, CallingConventions.Standard,
                ps.Select(p => p.ParameterType).ToArray());
            for (int i = 0; i < ps.Length; i++)
            {
                ParameterBuilder pb = cb.DefineParameter(i + 1, ps[i].Attributes & ~ParameterAttributes.HasDefault, ps[i].Name);
                if (ps[i].HasDefaultValue)
                {
                    try { pb.SetConstant(ps[i].DefaultValue); } catch (ArgumentException) { }
                }
            }
            ILGenerator g = cb.GetILGenerator();
            // Bind the Python object first, so virtual calls made by the base constructor reach it.
            g.Emit(OpCodes.Ldarg_0);
            g.Emit(OpCodes.Ldarg_0);
            g.Emit(OpCodes.Call, _bind);
            g.Emit(OpCodes.Stfld, self);
            g.Emit(OpCodes.Ldarg_0);
            for (int i = 0; i < ps.Length; i++) g.Emit(OpCodes.Ldarg, i + 1);
            g.Emit(OpCodes.Call, c);
            g.Emit(OpCodes.Ret);
        }
    }

    private static void EmitBody(MethodBuilder mb, MethodInfo m, string? pyName, string className, List<int> slots)
    {
        ParameterInfo[] ps = m.GetParameters();
        for (int i = 0; i < ps.Length; i++) mb.DefineParameter(i + 1, ps[i].Attributes, ps[i].Name);
        ILGenerator g = mb.GetILGenerator();
        if (pyName == null)
        {
            g.Emit(OpCodes.Ldstr, $"the Python class {className} does not implement {Signatures.TypeName(m.DeclaringType!)}.{m.Name}");
            g.Emit(OpCodes.Newobj, _notImplemented);
            g.Emit(OpCodes.Throw);
            return;
        }
        (Type[] types, Type returnType) = MethodShapes.EmittedSignature(mb, m);
        // A result or out value typed by a method type parameter is converted to object by the
        // callback and cast by the IL below (unbox.any of the instantiated type).
        Type[] byRefTypes = ps.Where(p => p.ParameterType.IsByRef)
            .Select(p => p.ParameterType.GetElementType()!).Select(t => t.ContainsGenericParameters ? typeof(object) : t).ToArray();
        bool genericReturn = m.ReturnType.ContainsGenericParameters;
        int slot = Derived.NewSlot(new Derived.Slot(pyName, genericReturn ? typeof(object) : m.ReturnType, byRefTypes));  // object: see DispatchAs
        slots.Add(slot);
        var inputs = ps.Select((p, i) => (p, i)).Where(x => !(x.p.IsOut && x.p.ParameterType.IsByRef)).ToArray();
        LocalBuilder results = g.DeclareLocal(typeof(object[]));
        g.Emit(OpCodes.Ldarg_0);
        g.Emit(OpCodes.Ldc_I4, slot);
        g.Emit(OpCodes.Ldc_I4, inputs.Length);
        g.Emit(OpCodes.Newarr, typeof(object));
        for (int k = 0; k < inputs.Length; k++)
        {
            (ParameterInfo p, int i) = inputs[k];
            Type t = types[i];
            g.Emit(OpCodes.Dup);
            g.Emit(OpCodes.Ldc_I4, k);
            g.Emit(OpCodes.Ldarg, i + 1);
            if (t.IsByRef) { t = t.GetElementType()!; g.Emit(OpCodes.Ldobj, t); }
            if (t.IsValueType || t.IsGenericParameter) g.Emit(OpCodes.Box, t);
            g.Emit(OpCodes.Stelem_Ref);
        }
        if (genericReturn)
        {
            // The instantiated result type is known only when the method runs: pass it along.
            g.Emit(OpCodes.Ldtoken, returnType);
            g.Emit(OpCodes.Call, _typeFromHandle);
            g.Emit(OpCodes.Call, _dispatchAs);
        }
        else
        {
            g.Emit(OpCodes.Call, _dispatch);
        }
        g.Emit(OpCodes.Stloc, results);
        int r = 1;
        for (int i = 0; i < ps.Length; i++)
        {
            if (!types[i].IsByRef) continue;
            Type et = types[i].GetElementType()!;
            g.Emit(OpCodes.Ldarg, i + 1);
            g.Emit(OpCodes.Ldloc, results);
            g.Emit(OpCodes.Ldc_I4, r++);
            g.Emit(OpCodes.Ldelem_Ref);
            g.Emit(OpCodes.Unbox_Any, et);
            g.Emit(OpCodes.Stobj, et);
        }
        if (returnType != typeof(void))
        {
            g.Emit(OpCodes.Ldloc, results);
            g.Emit(OpCodes.Ldc_I4_0);
            g.Emit(OpCodes.Ldelem_Ref);
            g.Emit(OpCodes.Unbox_Any, returnType);
        }
        g.Emit(OpCodes.Ret);
    }

    private static void EmitBaseCaller(TypeBuilder tb, string callerName, MethodInfo m)
    {
        ParameterInfo[] ps = m.GetParameters();
        MethodBuilder mb = MethodShapes.DefineLike(tb, callerName, MethodAttributes.Public | MethodAttributes.HideBySig, m);
        ILGenerator g = mb.GetILGenerator();
        g.Emit(OpCodes.Ldarg_0);
        for (int i = 0; i < ps.Length; i++) g.Emit(OpCodes.Ldarg, i + 1);
        // non-virtual: the base implementation itself (instantiated with the caller's own type parameters)
        g.Emit(OpCodes.Call, m.IsGenericMethodDefinition ? m.MakeGenericMethod(mb.GetGenericArguments()) : m);
        g.Emit(OpCodes.Ret);
    }
}

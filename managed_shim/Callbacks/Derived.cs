using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.InteropServices;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>Implemented by every .NET type emitted for a Python subclass: the Python object behind it.</summary>
public interface IPythonDerived
{
    PyObjectRef? PythonSelf { get; }
}

/// <summary>
/// Python subclasses of .NET classes and Python implementations of .NET interfaces.
/// One type is emitted per Python class (Reflection.Emit, under <see cref="_emitLock"/>):
/// it derives from the .NET base, implements the interfaces, holds the Python object in a
/// <see cref="PyObjectRef"/> field, and each member Python defines (and each abstract one)
/// calls back into Python through <see cref="Callbacks.Invoke"/> and the Python trampoline.
/// For every overridden base method it also emits a non-virtual caller so that Python's
/// <c>super().Method()</c> reaches the base implementation instead of recursing.
/// </summary>
internal static class Derived
{
    /// <summary>What an override calls: the Python attribute, and how to convert results back.</summary>
    internal sealed record Slot(string PythonName, Type ReturnType, Type[] ByRefTypes);

    /// <summary>An emitted type and what it registered: slots, base callers, its __namespace__ name.</summary>
    private sealed record Emitted(Type Type, int[] Slots, RuntimeMethodHandle[] BaseCallers, string? NamedAs);

    // Emission lock: AssemblyBuilder/ModuleBuilder/TypeBuilder are not thread-safe, and the
    // type counter and name must be unique; everything below that is written here is written
    // under it (the dictionaries are concurrent because readers do not take the lock).
    private static readonly object _emitLock = new();
    private static int _typeCount;
    // What each emitted type registered (by type id), so that it can all be dropped when the
    // Python class dies. Written under _emitLock; concurrent so that lookups need no lock.
    private static readonly ConcurrentDictionary<int, Emitted> _emitted = new();
    // Owner: _emitLock. Full names given by __namespace__ to the types of live Python classes:
    // a second class with the same namespace and name is refused while the first lives.
    private static readonly Dictionary<string, int> _namedTypes = new(StringComparer.Ordinal);
    // Slot table: written under _emitLock before the type that uses a slot exists, read by
    // overrides on any thread.
    private static readonly ConcurrentDictionary<int, Slot> _slots = new();
    private static int _slotCount;
    // (emitted type, base method handle) -> non-virtual base caller. Published after CreateType.
    private static readonly ConcurrentDictionary<(Type, RuntimeMethodHandle), MethodInfo> _baseCallers = new();

    // The Python function every override calls: trampoline(self, name, *args). Set once.
    private static PyObjectRef? _trampoline;

    // The Python object the next emitted constructor on this thread binds to (set by Python
    // right before it calls the constructor, on the same OS thread). Thread-static: no lock.
    [ThreadStatic] internal static long Pending;

    internal static PyObjectRef Trampoline => Volatile.Read(ref _trampoline)
        ?? throw new InvalidOperationException("the Python trampoline is not registered");

    internal static Slot SlotAt(int slot) => _slots.TryGetValue(slot, out Slot? s) ? s
        : throw new InvalidOperationException("the Python class of this .NET object was collected");

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

    public static int Count => Volatile.Read(ref _typeCount);

    /// <summary>Emitted types whose Python class is alive (not yet forgotten).</summary>
    public static int LiveCount => _emitted.Count;

    public static void SetTrampoline(long id) => Interlocked.CompareExchange(ref _trampoline, PyObjects.Take(id), null);

    public static void SetPending(long id) => Pending = id;

    /// <summary>The id of the Python object behind an emitted type's instance (0 if none).</summary>
    public static long SelfId(object o) => o is IPythonDerived d && d.PythonSelf is { } r ? r.Id : 0;

    /// <summary>
    /// A call from Python on an emitted type's instance: an overridden base method runs its base
    /// implementation (Python reached the .NET method through super() or the base class).
    /// </summary>
    public static object? Call(int memberId, object self, object?[] args, Invoker invoker)
    {
        if (TypeCatalog.MemberOf(memberId) is MethodInfo m
            && _baseCallers.TryGetValue((self.GetType(), (m.IsGenericMethod ? m.GetGenericMethodDefinition() : m).MethodHandle),
                out MethodInfo? caller))
        {
            // Reflection cannot pass a span to the base caller; a virtual call would reach the override.
            if (m.GetParameters().Any(p => Invokers.SpanArray(p.ParameterType) != null))
                throw new NotSupportedException(
                    $"{Signatures.Of(m)} takes a span and is overridden in Python: its base method cannot be called from Python");
            if (m.IsGenericMethod) caller = caller.MakeGenericMethod(m.GetGenericArguments());
            try { return caller.Invoke(self, args); }
            catch (TargetInvocationException e) when (e.InnerException != null)
            {
                ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
        }
        return invoker.Call(self, args);
    }

    /// <summary>
    /// The ids of the emitted types (of live Python classes) that <paramref name="t"/> is built
    /// from: generic arguments, array and by-ref element types, at any depth (<c>List&lt;S&gt;</c>,
    /// <c>Dictionary&lt;string, S[]&gt;</c>, <c>Func&lt;S&gt;</c>). An emitted type itself mentions
    /// none: its Python class is the class itself.
    /// </summary>
    public static List<int> Mentions(Type t)
    {
        var found = new List<int>();
        if (!t.IsCollectible || typeof(IPythonDerived).IsAssignableFrom(t)) return found;
        CollectMentions(t, found);
        return found;
    }

    private static void CollectMentions(Type t, List<int> found)
    {
        if (!t.IsCollectible) return;  // a non-collectible type is built from none
        if (t.HasElementType)
        {
            CollectMentions(t.GetElementType()!, found);
            return;
        }
        if (t.IsGenericType && !t.IsGenericTypeDefinition)
        {
            foreach (Type a in t.GetGenericArguments()) CollectMentions(a, found);
            return;
        }
        if (!typeof(IPythonDerived).IsAssignableFrom(t)) return;
        int id = TypeCatalog.IdOf(t);
        if (_emitted.ContainsKey(id) && !found.Contains(id)) found.Add(id);
    }

    /// <summary>
    /// Emits the type for one Python class. Request JSON: name, base (type id, 0 for object),
    /// interfaces (type ids), names (members the Python class defines), arity (name ->
    /// [fewest, most] positional arguments of Python methods; most -1 for *args).
    /// </summary>
    public static Type Define(string requestJson)
    {
        using JsonDocument doc = JsonDocument.Parse(requestJson);
        JsonElement root = doc.RootElement;
        string name = root.GetProperty("name").GetString() ?? "PythonClass";
        int baseId = root.GetProperty("base").GetInt32();
        Type baseType = baseId == 0 ? typeof(object) : TypeCatalog.TypeOf(baseId);
        Type[] interfaces = root.GetProperty("interfaces").EnumerateArray().Select(e => TypeCatalog.TypeOf(e.GetInt32())).ToArray();
        var names = new HashSet<string>(root.GetProperty("names").EnumerateArray().Select(e => e.GetString() ?? ""));
        var arity = new Dictionary<string, (int Fewest, int Most)>();
        if (root.TryGetProperty("arity", out JsonElement arities))
            foreach (JsonProperty p in arities.EnumerateObject())
                arity[p.Name] = (p.Value[0].GetInt32(), p.Value[1].GetInt32());
        string? ns = root.TryGetProperty("namespace", out JsonElement nsElement) ? nsElement.GetString() : null;
        var declared = new List<Declared>();
        if (root.TryGetProperty("declared", out JsonElement declaredElement))
            foreach (JsonElement d in declaredElement.EnumerateArray())
                declared.Add(new Declared(
                    d.GetProperty("kind").GetString() ?? "method",
                    d.GetProperty("name").GetString() ?? "",
                    d.GetProperty("py").GetString() ?? "",
                    TypeOrVoid(d.GetProperty("type").GetInt32()),
                    d.GetProperty("params").EnumerateArray().Select(e => TypeCatalog.TypeOf(e.GetInt32())).ToArray(),
                    d.TryGetProperty("get", out JsonElement get) && get.GetBoolean(),
                    d.TryGetProperty("set", out JsonElement set) && set.GetBoolean()));
        if (baseType.IsSealed) throw new TypeLoadException($"{Signatures.TypeName(baseType)} is sealed and cannot be subclassed");
        if (baseType.IsInterface) { interfaces = interfaces.Append(baseType).ToArray(); baseType = typeof(object); }
        lock (_emitLock)
        {
            string? fullName = ns == null ? null : $"{ns}.{name}";
            if (fullName != null && _namedTypes.ContainsKey(fullName))
                throw new TypeLoadException($"a Python class already defines the .NET type {fullName} (__namespace__ \"{ns}\")");
            var slots = new List<int>();
            var baseCallers = new List<RuntimeMethodHandle>();
            Type created = Emit(name, fullName, baseType, interfaces, names, arity, declared, slots, baseCallers);
            int id = TypeCatalog.IdOf(created);
            _emitted[id] = new Emitted(created, slots.ToArray(), baseCallers.ToArray(), fullName);
            if (fullName != null) _namedTypes[fullName] = id;
            return created;
        }
    }

    /// <summary>
    /// The Python class of emitted type <paramref name="typeId"/> died: drop the slots, base
    /// callers and name it registered, and when its assembly is collectible every table entry
    /// of the shim that refers to it, so that the runtime can unload it once no instance is
    /// left. Returns false when the type was not emitted here or was already forgotten.
    /// </summary>
    public static bool Forget(int typeId)
    {
        Emitted? e;
        lock (_emitLock)
        {
            if (!_emitted.TryRemove(typeId, out e)) return false;
            foreach (int slot in e.Slots) _slots.TryRemove(slot, out _);
            foreach (RuntimeMethodHandle h in e.BaseCallers) _baseCallers.TryRemove((e.Type, h), out _);
            if (e.NamedAs != null) _namedTypes.Remove(e.NamedAs);
        }
        if (e.Type.Assembly.IsCollectible) Collectibles.Forget(e.Type.Assembly);
        return true;
    }

    /// <summary>A member a Python class declares for .NET (pythonnet's clrmethod / clrproperty):
    /// kind "method" (Type: the return type, Params) or "property" (Type, Get, Set); Py is the
    /// Python attribute that implements it.</summary>
    private sealed record Declared(string Kind, string Name, string Py, Type Type, Type[] Params, bool Get, bool Set);

    private static Type TypeOrVoid(int id) => id == 0 ? typeof(void) : TypeCatalog.TypeOf(id);

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

    private static Type Emit(string name, string? fullName, Type baseType, Type[] interfaces, HashSet<string> names,
        Dictionary<string, (int Fewest, int Most)> arity, List<Declared> declared, List<int> slots,
        List<RuntimeMethodHandle> baseCallerHandles)
    {
        int n = ++_typeCount;
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

        var baseCallers = new List<(string, RuntimeMethodHandle)>();
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
        foreach ((string callerName, RuntimeMethodHandle handle) in baseCallers)
        {
            _baseCallers[(created, handle)] = created.GetMethod(callerName)!;
            baseCallerHandles.Add(handle);
        }
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
        int slot = Interlocked.Increment(ref _slotCount);
        slots.Add(slot);
        _slots[slot] = new Slot(pyName, genericReturn ? typeof(object) : m.ReturnType, byRefTypes);  // object: see DispatchAs
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

/// <summary>
/// The Python object of an emitted type's instance, as that instance holds it (its one field).
/// Python lets the object go only when the instance itself is gone, after every finalizer
/// that could call into it ran, its own included: .NET runs finalizers in no order, so a
/// plain <see cref="PyObjectRef"/> (whose finalizer releases the Python object) could be
/// finalized before the instance's own finalizer (<c>Component.Finalize</c> calling a Python
/// <c>Dispose(bool)</c>) reached Python. This finalizer checks the instance through a weak
/// handle that tracks resurrection: while the instance still exists (waiting for its
/// finalizer, or resurrected by one) it registers itself again and looks at the next
/// collection; the runtime clears that handle only once the instance is really collected,
/// and only then is the Python object queued for release.
/// </summary>
public sealed class PythonSelfRef
{
    // The handle is freed by the finalizer once the owner is gone (then never read again);
    // only the finalizer thread touches it after construction.
    private GCHandle _owner;

    internal PythonSelfRef(long id, object owner)
    {
        Ref = PyObjects.Take(id);
        GC.SuppressFinalize(Ref);  // released by this object's finalizer instead
        _owner = GCHandle.Alloc(owner, GCHandleType.WeakTrackResurrection);
    }

    public PyObjectRef Ref { get; }

    ~PythonSelfRef()
    {
        if (_owner.IsAllocated && _owner.Target != null)
        {
            GC.ReRegisterForFinalize(this);  // the instance can still run code: keep its Python object
            return;
        }
        if (_owner.IsAllocated) _owner.Free();
        PyObjects.QueueRelease(Ref.Id);
    }
}

/// <summary>What emitted types call; public because the emitted assembly sees only public members.</summary>
public static class PythonDerivedSupport
{
    /// <summary>
    /// Called first by every emitted constructor: the Python object this .NET object is. Python
    /// construction left it pending on this thread; construction from .NET (Activator,
    /// <c>new()</c> constraints...) asks Python for a new instance of the class (without
    /// running its <c>__init__</c>: the .NET constructor is what ran).
    /// </summary>
    public static PythonSelfRef Bind(object self)
    {
        long id = Derived.Pending;
        Derived.Pending = 0;
        if (id == 0)
        {
            object?[] made = Callbacks.Invoke(Derived.Trampoline,
                new object?[] { null, "new:", TypeCatalog.IdOf(self.GetType()) }, typeof(long), Type.EmptyTypes);
            id = (long)made[0]!;
        }
        return new PythonSelfRef(id, self);
    }

    /// <summary>The Python object a <see cref="PythonSelfRef"/> holds (null for an instance no constructor ran for).</summary>
    public static PyObjectRef? RefOf(PythonSelfRef? self) => self?.Ref;

    /// <summary>Called by every emitted override: runs the Python member, returns [result, byref values...].</summary>
    public static object?[] Dispatch(object self, int slot, object?[] args)
    {
        Derived.Slot s = Derived.SlotAt(slot);
        PyObjectRef trampoline = Derived.Trampoline;
        var full = new object?[args.Length + 2];
        full[0] = self;
        full[1] = s.PythonName;
        Array.Copy(args, 0, full, 2, args.Length);
        return Callbacks.Invoke(trampoline, full, s.ReturnType, s.ByRefTypes);
    }

    /// <summary><see cref="Dispatch"/> for a generic method whose result type is a type parameter:
    /// the result is converted to <paramref name="returnType"/>, the type of this instantiation.</summary>
    public static object?[] DispatchAs(object self, int slot, object?[] args, Type returnType)
    {
        Derived.Slot s = Derived.SlotAt(slot);
        var full = new object?[args.Length + 2];
        full[0] = self;
        full[1] = s.PythonName;
        Array.Copy(args, 0, full, 2, args.Length);
        return Callbacks.Invoke(Derived.Trampoline, full, returnType, s.ByRefTypes);
    }

}

public static unsafe partial class Exports
{
    /// <summary>Emits the .NET type for a Python class; <c>request</c> is JSON (see <see cref="Derived.Define"/>).</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static int DefineDerived(char* request, int length, int* typeId, Value* error)
    {
        try
        {
            *typeId = TypeCatalog.IdOf(Derived.Define(new string(request, 0, length)));
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    /// <summary>Registers the Python trampoline (id) that emitted overrides call, once.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static int DerivedSetup(long trampolineId)
    {
        Derived.SetTrampoline(trampolineId);
        return 0;
    }

    /// <summary>The Python object (id) the next emitted constructor on this thread binds to; 0 clears.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static int DerivedPending(long id)
    {
        Derived.SetPending(id);
        return 0;
    }

    /// <summary>The Python class of emitted type <c>typeId</c> died: let go of the type (see <see cref="Derived.Forget"/>). 1 if it was forgotten now.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static int DerivedForget(int typeId)
    {
        try { return Derived.Forget(typeId) ? 1 : 0; }
        catch { return -1; }
    }

    /// <summary>Counts for diagnostics: [emitted types with a live class, collectible assemblies still loaded, emitted, forgotten].</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static int DerivedStats(long* counts)
    {
        counts[0] = Derived.LiveCount;
        counts[1] = Collectibles.Alive();
        counts[2] = Collectibles.Emitted;
        counts[3] = Collectibles.Forgotten;
        return 0;
    }

    /// <summary>
    /// The emitted types <c>typeId</c> is built from (see <see cref="Derived.Mentions"/>): up
    /// to <c>capacity</c> ids into <c>ids</c>; returns how many there are (-1: unknown type id).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static int DerivedMentions(int typeId, int* ids, int capacity)
    {
        try
        {
            List<int> found = Derived.Mentions(TypeCatalog.TypeOf(typeId));
            for (int i = 0; i < found.Count && i < capacity; i++) ids[i] = found[i];
            return found.Count;
        }
        catch { return -1; }
    }

    /// <summary>The Python object id behind the emitted-type instance at <c>handle</c> (0 if none).</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static long DerivedSelf(long handle)
    {
        try { return Derived.SelfId(Handles.Target(handle)); }
        catch { return 0; }
    }
}

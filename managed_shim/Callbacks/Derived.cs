using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
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
/// This class keeps what the emitted types registered and answers for them; the IL is emitted
/// by <see cref="DerivedEmitter"/>, and what that IL calls is <see cref="PythonDerivedSupport"/>.
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

    /// <summary>Registers the slot of an override being emitted (caller: <see cref="DerivedEmitter"/>,
    /// under <see cref="_emitLock"/>); its number goes into the override's IL.</summary>
    internal static int NewSlot(Slot s)
    {
        int slot = Interlocked.Increment(ref _slotCount);
        _slots[slot] = s;
        return slot;
    }

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
        var declared = new List<DerivedEmitter.Declared>();
        if (root.TryGetProperty("declared", out JsonElement declaredElement))
            foreach (JsonElement d in declaredElement.EnumerateArray())
                declared.Add(new DerivedEmitter.Declared(
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
            var emittedCallers = new List<(string, RuntimeMethodHandle)>();
            Type created = DerivedEmitter.Emit(++_typeCount, name, fullName, baseType, interfaces, names, arity, declared, slots, emittedCallers);
            foreach ((string callerName, RuntimeMethodHandle handle) in emittedCallers)
            {
                _baseCallers[(created, handle)] = created.GetMethod(callerName)!;
                baseCallers.Add(handle);
            }
            int id = TypeCatalog.IdOf(created);
            _emitted[id] = new Emitted(created, slots.ToArray(), baseCallers.ToArray(), fullName);
            if (fullName != null) _namedTypes[fullName] = id;
            return created;
        }
    }

    private static Type TypeOrVoid(int id) => id == 0 ? typeof(void) : TypeCatalog.TypeOf(id);

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

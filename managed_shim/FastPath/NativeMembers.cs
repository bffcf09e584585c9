using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// Native members: descriptors for .NET properties and fields whose <c>__get__</c> and
/// <c>__set__</c> are C# methods. The shim creates one Python type through the stable C-API
/// (<c>PyType_FromSpecWithBases</c>) whose <c>tp_descr_get</c>/<c>tp_descr_set</c> slots are the
/// <see cref="UnmanagedCallersOnly"/> methods below, and one instance of it per member
/// (<c>pyclrbridge/proxies/native.py</c> puts it in the class dict in place of the Python
/// <c>Property</c>). An access is then one native call from the interpreter into .NET, with no
/// Python frame and no ctypes conversion: read the proxy's handle, call the accessor, build the
/// result with <c>PyLong_*</c>/<c>PyFloat_*</c>/<c>PyUnicode_*</c>.
/// <para>
/// An accessor the GIL policy proves leaf runs with the GIL held (it never waits for another
/// thread); any other releases the GIL around the .NET call alone (<see cref="Releasing"/>), as
/// the Python descriptor's stubs do: conversions, the handle read, the result and raising all
/// happen with the GIL held. Every case it does not serve
/// calls the member's Python descriptor (the reference: same results, errors and messages):
/// a class-level access of an instance member, a proxy without a live handle, an instance of a
/// Python subclass, a virtual accessor whose override on that exact type is not leaf, a forked
/// child, Python's GIL release switch on (<c>releasing_gil()</c>: the descriptor's stubs then
/// release the GIL), user encoders registered (on set), a set value that is not an exact int, float, bool,
/// str or None of a fitting type, and deletion. A .NET exception the accessor throws is parked
/// as a direct call's would be and raised by the same Python code, so it is the same object.
/// </para>
/// </summary>
internal static unsafe partial class NativeMembers
{
    // Owner: _lock guards setup (the type and PyApi's table, written once) and the creation of
    // members; the slots only read what creation published.
    private static readonly object _lock = new();
    private static IntPtr _type;

    // What each descriptor serves, by the descriptor object's address. Concurrent: slots on any
    // thread read it while creation adds. The descriptors are never freed (this table keeps a
    // reference to each), so an address always names the same member.
    private static readonly ConcurrentDictionary<IntPtr, Member> _members = new();

    /// <summary>Set (non-zero) by Python while user encoders are registered: a set takes the
    /// Python path, which consults them. A plain int, written by Python and read atomically.</summary>
    public static readonly int* EncodersFlag = (int*)NativeMemory.AllocZeroed(sizeof(int));

    /// <summary>Python's <c>GilRelease.on</c>, copied by <see cref="Exports.NativeGilRelease"/>
    /// (under Python's switch lock, so the last write is the switch's state): while set, every
    /// get and set takes the Python descriptor, whose direct stubs then release the GIL. Volatile:
    /// written by one thread, read by the slots on any thread.</summary>
    internal static volatile int _releaseGil;

    public static void ReleaseGil(bool on) => _releaseGil = on ? 1 : 0;

    public static int Count => _members.Count;

    /// <summary>Whether virtual accessor <paramref name="memberId"/> is leaf on an object of
    /// exactly type <paramref name="typeId"/> (the override that runs there). Whether an
    /// accessor is leaf at all, Python asks the GIL policy (proxies.native._leaf) and passes on.
    /// The proof may run class constructors and compile: call it without the GIL.</summary>
    public static bool LeafOn(int memberId, int typeId) => GilPolicy.IsShortOn(memberId, typeId);

    // Accessors compiled (without the GIL) and waiting for their descriptor (made with the GIL),
    // by token. Concurrent: the two steps may run on different threads.
    private static readonly ConcurrentDictionary<long, (Accessor? Reader, Accessor? Writer, bool Static)> _prepared = new();
    private static long _nextToken;
    private static int _compiled;

    /// <summary>Compiles every method the slots can reach, once, so a slot running with the GIL
    /// held never waits for the JIT (nor compiles anything in a forked child).</summary>
    internal static void EnsureCompiled()
    {
        if (Volatile.Read(ref _compiled) != 0) return;
        lock (_lock)
        {
            if (_compiled != 0) return;
            var types = new List<Type> { typeof(NativeMembers), typeof(PyApi), typeof(Handles), typeof(NativeCalls), typeof(NativeGroups), typeof(Releasing) };
            types.AddRange(typeof(NativeCalls).GetNestedTypes(BindingFlags.NonPublic | BindingFlags.Public));
            types.AddRange(typeof(NativeMembers).GetNestedTypes(BindingFlags.NonPublic | BindingFlags.Public));
            foreach (Type t in types)
            {
                foreach (MethodInfo m in t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public
                             | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (m.IsAbstract || m.ContainsGenericParameters) continue;
                    try { RuntimeHelpers.PrepareMethod(m.MethodHandle); }
                    catch (Exception) { /* not compilable ahead (a runtime-implemented method): it has no body to compile */ }
                }
            }
            WarmText();
            Volatile.Write(ref _compiled, 1);
        }
    }

    /// <summary>Step one, without the GIL: compile the accessors of a property or field (flags:
    /// 1 static, 2 a field, 4 the GIL policy proved the getter leaf, 8 the setter, 16 ask the
    /// GIL policy here instead, once the member qualifies) and run each once dry (compiled now,
    /// not in a slot). An accessor not proved leaf is compiled releasing the GIL around the .NET
    /// call. Returns a token for <see cref="Create"/>, or 0 when the member does not qualify.</summary>
    public static long Prepare(int getId, int setId, int flags)
    {
        EnsureCompiled();
        bool isStatic = (flags & 1) != 0, field = (flags & 2) != 0;
        (Accessor? reader, Accessor? writer) = Accessors(getId, setId, isStatic, field, (flags & 4) != 0, (flags & 8) != 0,
            (flags & 16) != 0);
        if (reader == null && writer == null) return 0;
        reader?.DryRun();
        writer?.DryRun();
        long token = Interlocked.Increment(ref _nextToken);
        _prepared[token] = (reader, writer, isStatic);
        return token;
    }

    private sealed class Member
    {
        public readonly IntPtr Fallback;  // the Python descriptor (a reference kept)
        // Its type's own descriptor slots (the type outlives it): calling them is exactly what
        // the interpreter does for the Python descriptor, None/NULL handling included.
        public readonly delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr> Get;
        public readonly delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int> Set;
        public readonly bool Static;
        public readonly Accessor? Reader, Writer;

        public Member(IntPtr fallback, IntPtr get, IntPtr set, bool isStatic, Accessor? reader, Accessor? writer)
        {
            Fallback = fallback;
            Get = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)get;
            Set = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int>)set;
            Static = isStatic; Reader = reader; Writer = writer;
        }
    }

    public static void Setup(IntPtr* functions, int nfunctions, IntPtr* objects, int nobjects)
    {
        lock (_lock)
        {
            if (_type != IntPtr.Zero) return;
            if (nfunctions != PyApi.Names.Length || nobjects != PyApi.Objects.Length)
                throw new ArgumentException($"native members need {PyApi.Names.Length} functions and {PyApi.Objects.Length} objects");
            PyApi.Bind(functions, objects);
            // Garbage-collected (PyApi.GcTraverse): on a free-threaded build Python makes each
            // member's reference count deferred (proxies.native.share).
            _type = PyApi.SubType("pyclrbridge.proxies.native.NativeMember", IntPtr.Zero,
                PyApi.DefaultFlags | PyApi.HaveGc | PyApi.ImmutableType | PyApi.DisallowInstantiation, stackalloc[]
                {
                    PyApi.GcTraverse,
                    new PyTypeSlot { Slot = PyApi.Slot.DescrGet, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)&DescrGet },
                    new PyTypeSlot { Slot = PyApi.Slot.DescrSet, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int>)&DescrSet },
                    new PyTypeSlot { Slot = PyApi.Slot.GetAttro, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr>)&GetAttro },
                    new PyTypeSlot { Slot = PyApi.Slot.Repr, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr>)&Repr },
                });
        }
    }

    internal static byte* Utf8(string s)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(s);
        var p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
        bytes.AsSpan().CopyTo(new Span<byte>(p, bytes.Length));
        p[bytes.Length] = 0;
        return p;
    }

    /// <summary>Step two, with the GIL: the native descriptor for the accessors prepared under
    /// <paramref name="token"/>, with <paramref name="fallback"/> (the Python descriptor) for
    /// what it does not serve.</summary>
    public static IntPtr Create(long token, IntPtr fallback)
    {
        if (_type == IntPtr.Zero) throw new InvalidOperationException("native members are not set up");
        if (!_prepared.TryRemove(token, out var prepared)) throw new ArgumentException($"no prepared native member {token}");
        (Accessor? reader, Accessor? writer, bool isStatic) = prepared;
        lock (_lock)
        {
            IntPtr fallbackType = PyApi.TypeOf(fallback);  // a heap type (Property): GetSlot reads it on 3.10+
            IntPtr get = PyApi.PyType_GetSlot(fallbackType, PyApi.Slot.DescrGet);
            IntPtr set = PyApi.PyType_GetSlot(fallbackType, PyApi.Slot.DescrSet);
            IntPtr self = get == IntPtr.Zero || set == IntPtr.Zero ? IntPtr.Zero : PyApi.PyType_GenericAlloc(_type, 0);
            if (self == IntPtr.Zero)
            {
                PyApi.PyErr_Clear();
                throw new InvalidOperationException("could not create a native member");
            }
            PyApi.Py_IncRef(fallback);
            _members[self] = new Member(fallback, get, set, isStatic, reader, writer);
            return self;  // this table's reference; Python takes its own
        }
    }

    private static (Accessor?, Accessor?) Accessors(int getId, int setId, bool isStatic, bool field, bool getLeaf, bool setLeaf,
        bool ask)
    {
        MemberInfo? g = getId != 0 ? TypeCatalog.MemberOf(getId) : null;
        MemberInfo? s = setId != 0 ? TypeCatalog.MemberOf(setId) : null;
        MemberInfo? any = g ?? s;
        Type? owner = any?.DeclaringType;
        // A collectible owner (a Python-derived type's assembly, or a generic built from one such
        // as List<S>) gets none: the compiled accessor, kept for the process's life, would pin it.
        if (any == null || owner == null || owner.ContainsGenericParameters || owner.IsByRefLike || owner.IsCollectible)
            return (null, null);
        // Nor a member reached through a collectible type (S[].Length, declared by Array): the
        // member object names that type (ReflectedType), so the compiled accessor would pin it too.
        if (g?.ReflectedType is { IsCollectible: true } || s?.ReflectedType is { IsCollectible: true }) return (null, null);
        if (!isStatic && owner.IsValueType) return (null, null);  // a boxed struct's members keep the general path
        if (typeof(IPythonDerived).IsAssignableFrom(owner)) return (null, null);
        Type? valueType = g switch
        {
            MethodInfo m when m.GetParameters().Length == 0 => m.ReturnType,
            FieldInfo f => f.FieldType,
            _ => s is MethodInfo sm && sm.GetParameters().Length == 1 ? sm.GetParameters()[0].ParameterType : null,
        };
        Kind kind = valueType == null ? Kind.None : KindOf(valueType);
        if (kind == Kind.None) return (null, null);
        if (ask)
        {
            // Only now, for a member that qualifies: a proof is never run for a collectible
            // owner's accessors (one pinned its assembly: List<S>.Capacity's setter).
            getLeaf = g != null && GilPolicy.IsShort(getId, 0);
            setLeaf = s != null && GilPolicy.IsShort(setId, field ? 1 : 0);
        }
        Accessor? reader = null, writer = null;
        // An accessor the GIL policy does not prove leaf is served releasing the GIL around the
        // .NET call (Releasing), as the Python descriptor's stubs do.
        if (g != null && !(g is FieldInfo { IsLiteral: true }))
            reader = Accessor.Reader(g, owner, isStatic, kind, valueType!, getId, release: !getLeaf);
        // A getter the fast path cannot serve keeps the Python descriptor whole: reads are the
        // common case, and a native member that only forwards them would make each one slower.
        if (g != null && reader == null) return (null, null);
        if (s != null && kind.Settable() && !(s is FieldInfo { IsLiteral: true } or FieldInfo { IsInitOnly: true }))
            writer = Accessor.Writer(s, owner, isStatic, kind, valueType!, setId, release: !setLeaf);
        return (reader, writer);
    }

    internal enum Kind { None, Signed, UInt64, Bool, Double, Single, String, Char }

    internal static Kind KindOf(Type t)
    {
        if (t == typeof(bool)) return Kind.Bool;
        if (t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(sbyte) || t == typeof(byte)
            || t == typeof(ushort) || t == typeof(uint)) return Kind.Signed;
        if (t == typeof(ulong)) return Kind.UInt64;
        if (t == typeof(double)) return Kind.Double;
        if (t == typeof(float)) return Kind.Single;
        if (t == typeof(string)) return Kind.String;
        if (t == typeof(char)) return Kind.Char;
        return Kind.None;
    }

    private static bool Settable(this Kind k) => k is Kind.Signed or Kind.Bool or Kind.Double or Kind.String;

    // ---- the slots ------------------------------------------------------------------------

    /// <summary>The live handle of proxy <paramref name="obj"/>, or 0 (no error pending) when
    /// it has none or is no proxy: the Python descriptor then says what is wrong.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long HandleOf(IntPtr obj)
    {
        if (obj == IntPtr.Zero || obj == PyApi.None) return 0;
        IntPtr h = PyApi.HandleGet(PyApi.HandleSlot, obj, IntPtr.Zero);
        if (h == IntPtr.Zero)
        {
            PyApi.PyErr_Clear();
            return 0;
        }
        IntPtr type = PyApi.TypeQuick(h);
        PyApi.DecRefQuick(type);  // h holds the type: not the last reference
        if (type != PyApi.IntType)
        {
            PyApi.Py_DecRef(h);  // something else a user stored in _h: the Python descriptor decides
            return 0;
        }
        int overflow;
        long value = PyApi.LongValueQuick(h, &overflow);  // an exact int: no error, no Python code
        PyApi.DecRefQuick(h);  // at most frees an int
        return overflow != 0 || value < 0 ? 0 : value;
    }

    /// <summary>The target of an instance access, or null when the Python descriptor must take
    /// it: a handle released meanwhile (the release race: the descriptor raises the error, as
    /// nothing may throw here with the GIL held), an instance of a Python subclass, a virtual
    /// accessor not leaf on this exact type.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static object? TargetFor(long handle, Accessor a)
    {
        if (!Handles.TryTarget(handle, out object? target) || target == null || target is IPythonDerived) return null;
        return a.Virtual && !a.Releases && !a.LeafFor(target.GetType()) ? null : target;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static IntPtr DescrGet(IntPtr self, IntPtr obj, IntPtr type)
    {
        try
        {
            if (!_members.TryGetValue(self, out Member? m))
            {
                PyApi.SetError("pyclrbridge: unknown native member");
                return IntPtr.Zero;
            }
            Accessor? a = m.Reader;
            if (a != null && _releaseGil == 0 && !ForkGuard.InChild() && (!a.Releases || Shim.Releasing.Open))
            {
                if (m.Static) return Read(a, null);
                long h = HandleOf(obj);
                if (h != 0)
                {
                    object? target = TargetFor(h, a);
                    if (target != null) return Read(a, target);
                }
            }
            return m.Get(m.Fallback, obj, type);
        }
        catch (Exception e)
        {
            return Raise(e);
        }
    }

    private static IntPtr Read(Accessor a, object? target)
    {
        try { return a.Read(target); }
        catch (Exception e) { return Raise(e); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int DescrSet(IntPtr self, IntPtr obj, IntPtr value)
    {
        try
        {
            if (!_members.TryGetValue(self, out Member? m))
            {
                PyApi.SetError("pyclrbridge: unknown native member");
                return -1;
            }
            if (value == IntPtr.Zero) return m.Set(m.Fallback, obj, IntPtr.Zero);  // deletion
            Accessor? a = m.Writer;
            if (a != null && _releaseGil == 0 && Volatile.Read(ref *EncodersFlag) == 0 && !ForkGuard.InChild()
                && (!a.Releases || Shim.Releasing.Open))
            {
                object? target = null;
                bool go = true;
                if (!m.Static)
                {
                    long h = HandleOf(obj);
                    if (h == 0) go = false;
                    else
                    {
                        target = TargetFor(h, a);
                        go = target != null;
                    }
                }
                if (go)
                {
                    int done;
                    try { done = a.Write(target, value); }
                    catch (Exception e) { Raise(e); return -1; }
                    if (done != 1) return done;  // 0 written, -1 a Python error is set
                }
            }
            return m.Set(m.Fallback, obj, value);
        }
        catch (Exception e)
        {
            Raise(e);
            return -1;
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static IntPtr GetAttro(IntPtr self, IntPtr name)
    {
        // Everything but the access itself is the Python descriptor's: its name, doc, read(),
        // set_static()... (callers that use it directly get the reference behaviour).
        try
        {
            if (!_members.TryGetValue(self, out Member? m))
            {
                PyApi.SetError("pyclrbridge: unknown native member");
                return IntPtr.Zero;
            }
            return PyApi.PyObject_GetAttr(m.Fallback, name);
        }
        catch (Exception e)
        {
            return Raise(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static IntPtr Repr(IntPtr self)
    {
        try
        {
            if (!_members.TryGetValue(self, out Member? m))
            {
                PyApi.SetError("pyclrbridge: unknown native member");
                return IntPtr.Zero;
            }
            return PyApi.PyObject_Repr(m.Fallback);
        }
        catch (Exception e)
        {
            return Raise(e);
        }
    }

    /// <summary>Raises <paramref name="e"/> in Python as a direct call's failure is raised (the
    /// same exception object); returns NULL for the slot to return.</summary>
    internal static IntPtr Raise(Exception e)
    {
        DirectCalls.ParkFailure(e);
        IntPtr r = PyApi.PyObject_CallObject(PyApi.RaisePending, IntPtr.Zero);
        if (r != IntPtr.Zero)
        {
            PyApi.Py_DecRef(r);
            PyApi.SetError("a .NET call failed and its exception could not be handed to Python");
        }
        return IntPtr.Zero;
    }
}

public static unsafe partial class Exports
{
    /// <summary>
    /// Sets up native members (<see cref="NativeMembers"/>): <paramref name="functions"/> are
    /// the C-API addresses in the order of <see cref="PyApi.Names"/>, <paramref name="objects"/>
    /// the objects of <see cref="PyApi.Objects"/>. <paramref name="flag"/> gets the address of
    /// the int Python sets while user encoders are registered. Called with the GIL held.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int NativeSetup(IntPtr* functions, int nfunctions, IntPtr* objects, int nobjects, IntPtr* flag, Value* error)
    {
        try
        {
            NativeMembers.Setup(functions, nfunctions, objects, nobjects);
            *flag = (IntPtr)NativeMembers.EncodersFlag;
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    /// <summary>
    /// Step one of a native member (<see cref="NativeMembers.Prepare"/>), called with the GIL
    /// released: a token for <see cref="NativeMember"/>, 0 when the member does not qualify, -1
    /// when preparing failed (the Python descriptor stays).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static long NativePrepare(int getId, int setId, int flags)
    {
        try { return NativeMembers.Prepare(getId, setId, flags); }
        catch (Exception) { return -1; }
    }

    /// <summary>
    /// Copies Python's GIL release switch (<c>GilRelease.on</c>) for the native members' slots:
    /// non-zero, they take the Python descriptor. Called with the GIL held, under Python's
    /// switch lock; cannot fail.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int NativeGilRelease(int on)
    {
        NativeMembers.ReleaseGil(on != 0);
        return 0;
    }

    /// <summary>
    /// Step two, with the GIL held: the native descriptor for <paramref name="token"/> falling
    /// back to <paramref name="fallback"/>, in <paramref name="result"/> (a reference the shim
    /// keeps). 0 made; 2 with the exception in <paramref name="error"/>; 3 failed.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int NativeMember(long token, IntPtr fallback, IntPtr* result, Value* error)
    {
        try
        {
            *result = NativeMembers.Create(token, fallback);
            return 0;
        }
        catch (Exception e) { return Fail(e, error) == 1 ? 2 : 3; }
    }
}

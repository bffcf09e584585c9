using System;
using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// Native members: descriptors for .NET properties and fields whose <c>__get__</c> and
/// <c>__set__</c> are C# methods. The shim creates one Python type through the stable C-API
/// (<c>PyType_FromSpec</c>) whose <c>tp_descr_get</c>/<c>tp_descr_set</c> slots are the
/// <see cref="UnmanagedCallersOnly"/> methods below, and one instance of it per member
/// (<c>pyclrbridge/proxies/native.py</c> puts it in the class dict in place of the Python
/// <c>Property</c>). An access is then one native call from the interpreter into .NET, with no
/// Python frame and no ctypes conversion: read the proxy's handle, call the accessor, build the
/// result with <c>PyLong_*</c>/<c>PyFloat_*</c>/<c>PyUnicode_*</c>.
/// <para>
/// Only a member whose accessors the GIL policy proves leaf (<see cref="Leaf"/>) gets one: it
/// runs with the GIL held and never waits for another thread. Every case it does not serve
/// calls the member's Python descriptor (the reference: same results, errors and messages):
/// a class-level access of an instance member, a proxy without a live handle, an instance of a
/// Python subclass, a virtual accessor whose override on that exact type is not leaf, a forked
/// child, user encoders registered (on set), a set value that is not an exact int, float, bool,
/// str or None of a fitting type, and deletion. A .NET exception the accessor throws is parked
/// as a direct call's would be and raised by the same Python code, so it is the same object.
/// </para>
/// </summary>
internal static unsafe class NativeMembers
{
    // Owner: _lock guards setup (the type and PyApi's table, written once) and the creation of
    // members; the slots only read what creation published.
    private static readonly object _lock = new();
    private static IntPtr _type;
    private static IntPtr _nameGet, _nameSet, _nameDelete;

    // What each descriptor serves, by the descriptor object's address. Concurrent: slots on any
    // thread read it while creation adds. The descriptors are never freed (this table keeps a
    // reference to each), so an address always names the same member.
    private static readonly ConcurrentDictionary<IntPtr, Member> _members = new();

    /// <summary>Set (non-zero) by Python while user encoders are registered: a set takes the
    /// Python path, which consults them. A plain int, written by Python and read atomically.</summary>
    public static readonly int* EncodersFlag = (int*)NativeMemory.AllocZeroed(sizeof(int));

    public static int Count => _members.Count;

    /// <summary>Whether accessor <paramref name="memberId"/> (<paramref name="variant"/> 1: a
    /// field's setter) may serve the fast path: the one place that asks the GIL policy.</summary>
    public static bool Leaf(int memberId, int variant) => GilPolicy.IsShort(memberId, variant);

    /// <summary>Whether virtual accessor <paramref name="memberId"/> is leaf on an object of
    /// exactly type <paramref name="typeId"/> (the override that runs there).</summary>
    public static bool LeafOn(int memberId, int typeId) => GilPolicy.IsShortOn(memberId, typeId);

    private sealed class Member
    {
        public readonly IntPtr Fallback, Get, Set, Delete;  // the Python descriptor and its bound methods (kept)
        public readonly bool Static;
        public readonly Accessor? Reader, Writer;

        public Member(IntPtr fallback, IntPtr get, IntPtr set, IntPtr delete, bool isStatic, Accessor? reader, Accessor? writer)
        {
            Fallback = fallback; Get = get; Set = set; Delete = delete; Static = isStatic; Reader = reader; Writer = writer;
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
            _nameGet = Intern("__get__");
            _nameSet = Intern("__set__");
            _nameDelete = Intern("__delete__");
            // The spec, its slots and its name live for the life of the process (3.11 keeps
            // pointing at the name).
            byte* name = Utf8("pyclrbridge.proxies.native.NativeMember");
            var slots = (PyTypeSlot*)NativeMemory.AllocZeroed((nuint)(5 * sizeof(PyTypeSlot)));
            slots[0] = new PyTypeSlot { Slot = PyApi.Slot.DescrGet, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)&DescrGet };
            slots[1] = new PyTypeSlot { Slot = PyApi.Slot.DescrSet, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int>)&DescrSet };
            slots[2] = new PyTypeSlot { Slot = PyApi.Slot.GetAttro, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr>)&GetAttro };
            slots[3] = new PyTypeSlot { Slot = PyApi.Slot.Repr, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr>)&Repr };
            var spec = (PyTypeSpec*)NativeMemory.AllocZeroed((nuint)sizeof(PyTypeSpec));
            spec->Name = name;
            spec->Flags = PyApi.DefaultFlags | PyApi.ImmutableType | PyApi.DisallowInstantiation;
            spec->Slots = slots;
            IntPtr type = PyApi.PyType_FromSpec(spec);
            if (type == IntPtr.Zero) throw new InvalidOperationException("PyType_FromSpec failed");
            _type = type;  // our reference, kept
            // Compiled now: in a forked child (whose executable memory the runtime maps shared
            // with the parent) a slot reached anyway must compile nothing on its way to the
            // Python descriptor.
            foreach (string helper in new[] { nameof(Call), nameof(CallStatus) })
                RuntimeHelpers.PrepareMethod(typeof(NativeMembers).GetMethod(helper, BindingFlags.NonPublic | BindingFlags.Static)!.MethodHandle);
        }
    }

    private static byte* Utf8(string s)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(s);
        var p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
        bytes.AsSpan().CopyTo(new Span<byte>(p, bytes.Length));
        p[bytes.Length] = 0;
        return p;
    }

    private static IntPtr Intern(string s)
    {
        IntPtr o = PyApi.PyUnicode_FromString(Utf8(s));
        if (o == IntPtr.Zero) throw new InvalidOperationException($"could not make the name {s}");
        return o;
    }

    /// <summary>A native descriptor for the property or field with these accessors, with
    /// <paramref name="fallback"/> (the Python descriptor) for what it does not serve; null when
    /// neither accessor qualifies. flags: 1 static, 2 a field (its id names both accessors).</summary>
    public static IntPtr Create(int getId, int setId, int flags, IntPtr fallback)
    {
        if (_type == IntPtr.Zero) throw new InvalidOperationException("native members are not set up");
        bool isStatic = (flags & 1) != 0, field = (flags & 2) != 0;
        (Accessor? reader, Accessor? writer) = Accessors(getId, setId, isStatic, field);
        if (reader == null && writer == null) return IntPtr.Zero;
        lock (_lock)
        {
            IntPtr get = PyApi.PyObject_GetAttr(fallback, _nameGet);
            IntPtr set = get == IntPtr.Zero ? IntPtr.Zero : PyApi.PyObject_GetAttr(fallback, _nameSet);
            IntPtr delete = set == IntPtr.Zero ? IntPtr.Zero : PyApi.PyObject_GetAttr(fallback, _nameDelete);
            IntPtr self = delete == IntPtr.Zero ? IntPtr.Zero : PyApi.PyType_GenericAlloc(_type, 0);
            if (self == IntPtr.Zero)
            {
                foreach (IntPtr o in new[] { get, set, delete }) if (o != IntPtr.Zero) PyApi.Py_DecRef(o);
                PyApi.PyErr_Clear();
                throw new InvalidOperationException("could not create a native member");
            }
            PyApi.Py_IncRef(fallback);
            _members[self] = new Member(fallback, get, set, delete, isStatic, reader, writer);
            return self;  // this table's reference; Python takes its own
        }
    }

    private static (Accessor?, Accessor?) Accessors(int getId, int setId, bool isStatic, bool field)
    {
        MemberInfo? g = getId != 0 ? TypeCatalog.MemberOf(getId) : null;
        MemberInfo? s = setId != 0 ? TypeCatalog.MemberOf(setId) : null;
        MemberInfo? any = g ?? s;
        Type? owner = any?.DeclaringType;
        if (any == null || owner == null || owner.ContainsGenericParameters || owner.IsByRefLike || owner.Assembly.IsCollectible)
            return (null, null);
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
        Accessor? reader = null, writer = null;
        if (g != null && !(g is FieldInfo { IsLiteral: true }) && Leaf(getId, 0))
            reader = Accessor.Reader(g, owner, isStatic, kind, valueType!, getId);
        // A getter the fast path cannot serve keeps the Python descriptor whole: reads are the
        // common case, and a native member that only forwards them would make each one slower.
        if (g != null && reader == null) return (null, null);
        if (s != null && kind.Settable() && !(s is FieldInfo { IsLiteral: true } or FieldInfo { IsInitOnly: true })
            && Leaf(setId, field ? 1 : 0))
            writer = Accessor.Writer(s, owner, isStatic, kind, valueType!, setId);
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
    private static long HandleOf(IntPtr obj)
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
    /// it (an instance of a Python subclass; a virtual accessor not leaf on this exact type).
    /// Throws ObjectDisposedException for a released handle (the release race).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static object? TargetFor(long handle, Accessor a)
    {
        object target = Handles.Target(handle);
        if (target is IPythonDerived) return null;
        return a.Virtual && !a.LeafFor(target.GetType()) ? null : target;
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
            if (a != null && !ForkGuard.InChild())
            {
                if (m.Static) return Read(a, null);
                long h = HandleOf(obj);
                if (h != 0)
                {
                    object? target;
                    try { target = TargetFor(h, a); }
                    catch (Exception e) { return Raise(e); }
                    if (target != null) return Read(a, target);
                }
            }
            return Call(m.Get, obj, type);
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
            if (value == IntPtr.Zero) return CallStatus(m.Delete, obj, IntPtr.Zero, 1);
            Accessor? a = m.Writer;
            if (a != null && Volatile.Read(ref *EncodersFlag) == 0 && !ForkGuard.InChild())
            {
                object? target = null;
                bool go = true;
                if (!m.Static)
                {
                    long h = HandleOf(obj);
                    if (h == 0) go = false;
                    else
                    {
                        try { target = TargetFor(h, a); }
                        catch (Exception e) { Raise(e); return -1; }
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
            return CallStatus(m.Set, obj, value, 2);
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

    /// <summary><paramref name="fn"/>(a, b) through the C-API (a NULL argument passes None):
    /// a new reference, or NULL with the error it raised.</summary>
    private static IntPtr Call(IntPtr fn, IntPtr a, IntPtr b, int n = 2)
    {
        IntPtr args = PyApi.PyTuple_New(n);
        if (args == IntPtr.Zero) return IntPtr.Zero;
        IntPtr first = a == IntPtr.Zero ? PyApi.None : a;
        PyApi.Py_IncRef(first);
        PyApi.PyTuple_SetItem(args, 0, first);  // steals the reference
        if (n > 1)
        {
            IntPtr second = b == IntPtr.Zero ? PyApi.None : b;
            PyApi.Py_IncRef(second);
            PyApi.PyTuple_SetItem(args, 1, second);
        }
        IntPtr result = PyApi.PyObject_CallObject(fn, args);
        PyApi.Py_DecRef(args);
        return result;
    }

    private static int CallStatus(IntPtr fn, IntPtr a, IntPtr b, int n)
    {
        IntPtr r = Call(fn, a, b, n);
        if (r == IntPtr.Zero) return -1;
        PyApi.Py_DecRef(r);
        return 0;
    }

    /// <summary>Raises <paramref name="e"/> in Python as a direct call's failure is raised (the
    /// same exception object); returns NULL for the slot to return.</summary>
    private static IntPtr Raise(Exception e)
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

    // ---- accessors ------------------------------------------------------------------------

    /// <summary>A compiled getter or setter and how it converts. <see cref="Read"/> returns a new
    /// reference (NULL with an error set); <see cref="Write"/> returns 0 (written), 1 (the
    /// value is not one it takes: the Python descriptor converts it) or -1 (error set).</summary>
    internal abstract class Accessor
    {
        public bool Virtual;
        public int MemberId;
        // The last exact type a virtual accessor was found leaf on: one reference, read and
        // written atomically (a lost race only repeats the memoized check).
        private Type? _leafType;

        public virtual IntPtr Read(object? target) => throw new NotSupportedException();
        public virtual int Write(object? target, IntPtr value) => 1;

        public bool LeafFor(Type exact)
        {
            if (ReferenceEquals(Volatile.Read(ref _leafType), exact)) return true;
            if (!LeafOn(MemberId, TypeCatalog.IdOf(exact))) return false;
            Volatile.Write(ref _leafType, exact);
            return true;
        }

        private static Expression? Instance(ParameterExpression self, Type owner, bool isStatic) =>
            isStatic ? null : Expression.Convert(self, owner);

        public static Accessor? Reader(MemberInfo member, Type owner, bool isStatic, Kind kind, Type valueType, int id)
        {
            ParameterExpression self = Expression.Parameter(typeof(object), "self");
            Expression? instance = Instance(self, owner, isStatic);
            Expression read = member switch
            {
                MethodInfo m => Expression.Call(instance, m),
                FieldInfo f => Expression.Field(instance, f),
                _ => throw new ArgumentException(member.ToString()),
            };
            Accessor a = kind switch
            {
                Kind.Signed => new SignedAccessor { Get = Lambda<Func<object?, long>>(Expression.Convert(read, typeof(long)), self) },
                Kind.UInt64 => new UInt64Accessor { Get = Lambda<Func<object?, ulong>>(read, self) },
                Kind.Bool => new BoolAccessor { Get = Lambda<Func<object?, bool>>(read, self) },
                Kind.Double or Kind.Single => new DoubleAccessor { Get = Lambda<Func<object?, double>>(Expression.Convert(read, typeof(double)), self) },
                Kind.String => new StringAccessor { Get = Lambda<Func<object?, string?>>(read, self) },
                Kind.Char => new CharAccessor { Get = Lambda<Func<object?, char>>(read, self) },
                _ => throw new ArgumentException(kind.ToString()),
            };
            a.MemberId = id;
            a.Virtual = member is MethodInfo { IsVirtual: true, IsFinal: false } && !owner.IsSealed;
            return a;
        }

        public static Accessor? Writer(MemberInfo member, Type owner, bool isStatic, Kind kind, Type valueType, int id)
        {
            ParameterExpression self = Expression.Parameter(typeof(object), "self");
            Expression? instance = Instance(self, owner, isStatic);
            Type native = kind switch
            {
                Kind.Signed => typeof(long), Kind.Bool => typeof(bool), Kind.Double => typeof(double), _ => typeof(string),
            };
            ParameterExpression v = Expression.Parameter(native, "value");
            Expression converted = native == valueType ? v : Expression.Convert(v, valueType);
            Expression write = member switch
            {
                MethodInfo m => Expression.Call(instance, m, converted),
                FieldInfo f => Expression.Assign(Expression.Field(instance, f), converted),
                _ => throw new ArgumentException(member.ToString()),
            };
            Accessor a = kind switch
            {
                Kind.Signed => new SignedAccessor { Set = Lambda<Action<object?, long>>(write, self, v), Range = RangeOf(valueType) },
                Kind.Bool => new BoolAccessor { Set = Lambda<Action<object?, bool>>(write, self, v) },
                Kind.Double => new DoubleAccessor { Set = Lambda<Action<object?, double>>(write, self, v) },
                Kind.String => new StringAccessor { Set = Lambda<Action<object?, string?>>(write, self, v) },
                _ => throw new ArgumentException(kind.ToString()),
            };
            a.MemberId = id;
            a.Virtual = member is MethodInfo { IsVirtual: true, IsFinal: false } && !owner.IsSealed;
            return a;
        }

        private static T Lambda<T>(Expression body, params ParameterExpression[] parameters) where T : Delegate =>
            Expression.Lambda<T>(body, parameters).Compile();

        private static (long Min, long Max) RangeOf(Type t) =>
            t == typeof(int) ? (int.MinValue, int.MaxValue)
            : t == typeof(long) ? (long.MinValue, long.MaxValue)
            : t == typeof(short) ? (short.MinValue, short.MaxValue)
            : t == typeof(sbyte) ? (sbyte.MinValue, sbyte.MaxValue)
            : t == typeof(byte) ? (byte.MinValue, byte.MaxValue)
            : t == typeof(ushort) ? (ushort.MinValue, ushort.MaxValue)
            : t == typeof(uint) ? (uint.MinValue, uint.MaxValue)
            : (1, 0);  // takes nothing: the Python descriptor converts
    }

    private sealed class SignedAccessor : Accessor
    {
        public Func<object?, long>? Get;
        public Action<object?, long>? Set;
        public (long Min, long Max) Range;

        public override IntPtr Read(object? target) => PyApi.PyLong_FromLongLong(Get!(target));

        public override int Write(object? target, IntPtr value)
        {
            if (PyApi.TypeOf(value) != PyApi.IntType) return 1;  // exactly int (bool is not)
            int overflow;
            long v = PyApi.PyLong_AsLongLongAndOverflow(value, &overflow);
            if (overflow != 0 || v < Range.Min || v > Range.Max) return 1;  // the Python path says why
            if (v == -1 && PyApi.PyErr_Occurred() != IntPtr.Zero) return -1;
            Set!(target, v);
            return 0;
        }
    }

    private sealed class UInt64Accessor : Accessor
    {
        public Func<object?, ulong>? Get;

        public override IntPtr Read(object? target) => PyApi.PyLong_FromUnsignedLongLong(Get!(target));
    }

    private sealed class BoolAccessor : Accessor
    {
        public Func<object?, bool>? Get;
        public Action<object?, bool>? Set;

        public override IntPtr Read(object? target) => PyApi.PyBool_FromLong(new CLong(Get!(target) ? 1 : 0));

        public override int Write(object? target, IntPtr value)
        {
            if (PyApi.TypeOf(value) != PyApi.BoolType) return 1;
            int truth = PyApi.PyObject_IsTrue(value);
            if (truth < 0) return -1;
            Set!(target, truth != 0);
            return 0;
        }
    }

    private sealed class DoubleAccessor : Accessor
    {
        public Func<object?, double>? Get;
        public Action<object?, double>? Set;

        public override IntPtr Read(object? target) => PyApi.PyFloat_FromDouble(Get!(target));

        public override int Write(object? target, IntPtr value)
        {
            if (PyApi.TypeOf(value) != PyApi.FloatType) return 1;
            double d = PyApi.PyFloat_AsDouble(value);
            if (d == -1.0 && PyApi.PyErr_Occurred() != IntPtr.Zero) return -1;
            Set!(target, d);
            return 0;
        }
    }

    private static readonly byte[] SurrogatePass = "surrogatepass\0"u8.ToArray();
    private static readonly byte[] Utf16Le = "utf-16-le\0"u8.ToArray();

    private static IntPtr Text(ReadOnlySpan<char> chars)
    {
        int order = -1;  // little-endian, no byte order mark
        fixed (char* p = chars)
        fixed (byte* errors = SurrogatePass)
            return PyApi.PyUnicode_DecodeUTF16((byte*)p, chars.Length * 2, errors, &order);
    }

    private sealed class StringAccessor : Accessor
    {
        public Func<object?, string?>? Get;
        public Action<object?, string?>? Set;

        public override IntPtr Read(object? target)
        {
            string? s = Get!(target);
            if (s == null)
            {
                PyApi.Py_IncRef(PyApi.None);
                return PyApi.None;
            }
            return Text(s);
        }

        public override int Write(object? target, IntPtr value)
        {
            if (value == PyApi.None)
            {
                Set!(target, null);
                return 0;
            }
            if (PyApi.TypeOf(value) != PyApi.StrType) return 1;
            IntPtr bytes;
            fixed (byte* encoding = Utf16Le)
            fixed (byte* errors = SurrogatePass)
                bytes = PyApi.PyUnicode_AsEncodedString(value, encoding, errors);
            if (bytes == IntPtr.Zero) return -1;
            try
            {
                byte* data = PyApi.PyBytes_AsString(bytes);
                nint size = PyApi.PyBytes_Size(bytes);
                if (data == null) return -1;
                Set!(target, new string((char*)data, 0, checked((int)(size / 2))));
                return 0;
            }
            finally
            {
                PyApi.Py_DecRef(bytes);
            }
        }
    }

    private sealed class CharAccessor : Accessor
    {
        public Func<object?, char>? Get;

        public override IntPtr Read(object? target)
        {
            char c = Get!(target);
            return Text(new ReadOnlySpan<char>(&c, 1));
        }
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
    /// A native descriptor for a property or field (<paramref name="flags"/> 1: static, 2: a
    /// field) falling back to <paramref name="fallback"/>: 0 with the object in
    /// <paramref name="result"/> (a reference the shim keeps), 1 when the member does not
    /// qualify. Called with the GIL held.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int NativeMember(int getId, int setId, int flags, IntPtr fallback, IntPtr* result, Value* error)
    {
        try
        {
            IntPtr made = NativeMembers.Create(getId, setId, flags, fallback);
            *result = made;
            return made == IntPtr.Zero ? 1 : 0;
        }
        catch (Exception e) { return Fail(e, error) == 1 ? 2 : 3; }
    }
}

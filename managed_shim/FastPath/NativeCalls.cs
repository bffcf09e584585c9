using System;
using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// Native calls: leaf instance methods and leaf indexers called from the interpreter straight
/// into .NET, the way <see cref="NativeMembers"/> serve properties. Two Python types, made
/// through the stable C-API once (<see cref="NativeGroups.TypeFor"/>):
/// <list type="bullet">
/// <item><c>NativeBound</c>, a subtype of <c>BoundMethod</c> whose <c>tp_call</c> is
/// <see cref="BoundCall"/>. <see cref="NativeGroups"/>' binding makes one instead of a plain
/// <c>BoundMethod</c> for a group registered here; everything else about it is BoundMethod's.</item>
/// <item><c>NativeIndexer</c>, put in a class dict in place of the Python <c>__getitem__</c> or
/// <c>__setitem__</c> function. <c>Py_TPFLAGS_METHOD_DESCRIPTOR</c> lets the interpreter call
/// it as <c>f(self, key)</c> for <c>obj[key]</c> without binding; any other use (binding,
/// attributes, repr) is the Python function's.</item>
/// </list>
/// <para>
/// Only a method or indexer accessor with one overload that the GIL policy proves leaf is
/// registered, with at most two parameters of the kinds the slots convert (integers, bool,
/// double, string) and a result they build (<see cref="NativeMembers.Kind"/>, or void). A call
/// the slot does not take goes to the Python path, in the cases <see cref="NativeMembers"/>
/// lists, and also for keywords or any argument that is not an exact int (in range), float,
/// bool or str of the parameter's kind.
/// </para>
/// </summary>
internal static unsafe class NativeCalls
{
    // Written once by NativeGroups.TypeFor under its lock, before any registration; read-only after.
    internal static IntPtr BoundType, IndexerType, BoundCallFunction;
    internal static delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr> SelfGet, GroupGet;

    // Plans by the address of the registered object (a method group, or a NativeIndexer).
    // Concurrent: slots on any thread read while registration adds. Registered objects are kept
    // alive by this table (a reference each, never dropped), so an address always names one.
    private static readonly ConcurrentDictionary<IntPtr, Plan> _plans = new();
    private static volatile int _planCount;

    /// <summary>Whether method group <paramref name="group"/> has a plan (its bound methods
    /// are then NativeBound). Cheap when none is registered.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool HasPlan(IntPtr group) => _planCount != 0 && _plans.ContainsKey(group);

    // Compiled plans waiting for their registration (made with the GIL), by token.
    private static readonly ConcurrentDictionary<long, Plan> _prepared = new();
    private static long _nextToken;

    internal delegate IntPtr Invoker(object? target, long l0, long l1, double d0, double d1, string? s0, string? s1, bool dry);

    internal sealed class Plan : NativeMembers.Accessor
    {
        public Invoker Invoke = null!;
        public NativeMembers.Kind[] Params = Array.Empty<NativeMembers.Kind>();
        public (long Min, long Max)[] Ranges = Array.Empty<(long, long)>();
        public IntPtr Fallback;  // a NativeIndexer's Python function (a reference kept)

        public override void DryRun() => Invoke(null, 0, 0, 0, 0, null, null, true);
    }

    /// <summary>Step one, without the GIL (the proof and the compiler may run class
    /// constructors): compile method <paramref name="memberId"/> (Python's GIL policy proved it
    /// leaf) and run it once dry. A token for <see cref="Register"/>, or 0 when it does not qualify.</summary>
    public static long Prepare(int memberId)
    {
        NativeMembers.EnsureCompiled();
        if (TypeCatalog.MemberOf(memberId) is not MethodInfo m || m.IsStatic || m.IsGenericMethodDefinition
            || m.ContainsGenericParameters) return 0;
        Type? owner = m.DeclaringType;
        if (owner == null || owner.ContainsGenericParameters || owner.IsByRefLike || owner.IsCollectible || owner.IsValueType
            || typeof(IPythonDerived).IsAssignableFrom(owner)) return 0;
        ParameterInfo[] ps = m.GetParameters();
        if (ps.Length > 2) return 0;
        var kinds = new NativeMembers.Kind[ps.Length];
        var ranges = new (long, long)[ps.Length];
        for (int i = 0; i < ps.Length; i++)
        {
            Type t = ps[i].ParameterType;
            if (t.IsByRef || ps[i].IsOptional || ps[i].IsDefined(typeof(ParamArrayAttribute))) return 0;
            NativeMembers.Kind k = NativeMembers.KindOf(t);
            if (k is not (NativeMembers.Kind.Signed or NativeMembers.Kind.Bool or NativeMembers.Kind.Double or NativeMembers.Kind.String)
                || (k == NativeMembers.Kind.Double && t != typeof(double))) return 0;
            kinds[i] = k;
            ranges[i] = k == NativeMembers.Kind.Signed ? NativeMembers.Accessor.RangeOf(t) : (0, 0);
        }
        Expression? result = ResultOf(m, owner, kinds, out ParameterExpression[] parameters);
        if (result == null) return 0;
        var plan = new Plan
        {
            Invoke = Expression.Lambda<Invoker>(result, parameters).Compile(),
            Params = kinds,
            Ranges = ranges,
            MemberId = memberId,
            Virtual = m.IsVirtual && !m.IsFinal && !owner.IsSealed,
        };
        plan.DryRun();
        long token = Interlocked.Increment(ref _nextToken);
        _prepared[token] = plan;
        return token;
    }

    private static Expression? ResultOf(MethodInfo m, Type owner, NativeMembers.Kind[] kinds, out ParameterExpression[] parameters)
    {
        ParameterExpression target = Expression.Parameter(typeof(object), "target");
        ParameterExpression l0 = Expression.Parameter(typeof(long), "l0"), l1 = Expression.Parameter(typeof(long), "l1");
        ParameterExpression d0 = Expression.Parameter(typeof(double), "d0"), d1 = Expression.Parameter(typeof(double), "d1");
        ParameterExpression s0 = Expression.Parameter(typeof(string), "s0"), s1 = Expression.Parameter(typeof(string), "s1");
        ParameterExpression dry = Expression.Parameter(typeof(bool), "dry");
        parameters = new[] { target, l0, l1, d0, d1, s0, s1, dry };
        ParameterInfo[] ps = m.GetParameters();
        var args = new Expression[ps.Length];
        for (int i = 0; i < ps.Length; i++)
        {
            Type t = ps[i].ParameterType;
            ParameterExpression l = i == 0 ? l0 : l1, d = i == 0 ? d0 : d1, s = i == 0 ? s0 : s1;
            args[i] = kinds[i] switch
            {
                NativeMembers.Kind.Signed => t == typeof(long) ? l : Expression.Convert(l, t),
                NativeMembers.Kind.Bool => Expression.NotEqual(l, Expression.Constant(0L)),
                NativeMembers.Kind.Double => d,
                _ => s,
            };
        }
        Expression call = Expression.Call(Expression.Convert(target, owner), m, args);
        Type r = m.ReturnType;
        Expression? built;
        if (r == typeof(void)) built = Expression.Block(call, Expression.Call(Helper(nameof(NoneRef))));
        else
        {
            built = NativeMembers.KindOf(r) switch
            {
                NativeMembers.Kind.Signed => Expression.Call(Helper(nameof(FromLong)), Expression.Convert(call, typeof(long))),
                NativeMembers.Kind.UInt64 => Expression.Call(Helper(nameof(FromULong)), call),
                NativeMembers.Kind.Bool => Expression.Call(Helper(nameof(FromBool)), call),
                NativeMembers.Kind.Double or NativeMembers.Kind.Single => Expression.Call(Helper(nameof(FromDouble)), Expression.Convert(call, typeof(double))),
                NativeMembers.Kind.String => Expression.Call(Helper(nameof(FromString)), call),
                NativeMembers.Kind.Char => Expression.Call(Helper(nameof(FromChar)), call),
                _ => null,
            };
        }
        return built == null ? null : Expression.Condition(dry, Expression.Constant(IntPtr.Zero), built);
    }

    private static MethodInfo Helper(string name) =>
        typeof(NativeCalls).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Static)!;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr NoneRef()
    {
        PyApi.Py_IncRef(PyApi.None);
        return PyApi.None;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromLong(long v) => PyApi.PyLong_FromLongLong(v);
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromULong(ulong v) => PyApi.PyLong_FromUnsignedLongLong(v);
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromBool(bool v) => PyApi.PyBool_FromLong(new CLong(v ? 1 : 0));
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromDouble(double v) => PyApi.PyFloat_FromDouble(v);
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromString(string? s) => s == null ? NoneRef() : NativeMembers.Text(s);
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr FromChar(char c) => NativeMembers.Text(new ReadOnlySpan<char>(&c, 1));

    /// <summary>Step two, with the GIL: registers the plan of <paramref name="token"/> for
    /// method group <paramref name="group"/> (<paramref name="fallback"/> zero), or makes a
    /// NativeIndexer calling it that falls back to Python function <paramref name="fallback"/>.
    /// Returns the registered object (a reference this table keeps).</summary>
    public static IntPtr Register(long token, IntPtr group, IntPtr fallback)
    {
        if (IndexerType == IntPtr.Zero) throw new InvalidOperationException("native calls are not set up");
        if (!_prepared.TryRemove(token, out Plan? plan)) throw new ArgumentException($"no prepared native call {token}");
        IntPtr key = group;
        if (fallback != IntPtr.Zero)
        {
            key = PyApi.PyType_GenericAlloc(IndexerType, 0);
            if (key == IntPtr.Zero)
            {
                PyApi.PyErr_Clear();
                throw new InvalidOperationException("could not create a native indexer");
            }
            PyApi.Py_IncRef(fallback);
            plan.Fallback = fallback;
        }
        else PyApi.Py_IncRef(group);
        if (!_plans.TryAdd(key, plan)) return key;  // registered already (its first plan stays)
        Interlocked.Increment(ref _planCount);
        return key;
    }

    /// <summary>Calls the plan on <paramref name="obj"/> with the items of <paramref name="args"/>
    /// from <paramref name="first"/>: the result (NULL with a Python error set), or
    /// <c>taken</c> false when the Python path must take the call (nothing happened).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call
    private static IntPtr Run(Plan plan, IntPtr obj, IntPtr args, int first, out bool taken)
    {
        taken = false;
        NativeMembers.Kind[] kinds = plan.Params;
        if (NativeMembers._releaseGil != 0 || Volatile.Read(ref *NativeMembers.EncodersFlag) != 0 || ForkGuard.InChild()
            || PyApi.PyTuple_Size(args) != first + kinds.Length) return IntPtr.Zero;
        long l0 = 0, l1 = 0;
        double d0 = 0, d1 = 0;
        string? s0 = null, s1 = null;
        for (int i = 0; i < kinds.Length; i++)
        {
            IntPtr item = PyApi.PyTuple_GetItem(args, first + i);  // borrowed: args holds it
            IntPtr type = PyApi.TypeQuick(item);
            PyApi.DecRefQuick(type);  // item holds its type: not the last reference
            switch (kinds[i])
            {
                case NativeMembers.Kind.Signed:
                {
                    if (type != PyApi.IntType) return IntPtr.Zero;
                    int overflow;
                    long v = PyApi.LongValueQuick(item, &overflow);  // an exact int: no error, no Python code
                    if (overflow != 0 || v < plan.Ranges[i].Min || v > plan.Ranges[i].Max) return IntPtr.Zero;
                    if (i == 0) l0 = v; else l1 = v;
                    break;
                }
                case NativeMembers.Kind.Bool:
                    if (type != PyApi.BoolType) return IntPtr.Zero;
                    long truth = PyApi.PyObject_IsTrue(item);
                    if (truth < 0) { taken = true; return IntPtr.Zero; }
                    if (i == 0) l0 = truth; else l1 = truth;
                    break;
                case NativeMembers.Kind.Double:
                    if (type != PyApi.FloatType) return IntPtr.Zero;
                    double d = PyApi.PyFloat_AsDouble(item);
                    if (d == -1.0 && PyApi.PyErr_Occurred() != IntPtr.Zero) { taken = true; return IntPtr.Zero; }
                    if (i == 0) d0 = d; else d1 = d;
                    break;
                default:
                    if (type != PyApi.StrType) return IntPtr.Zero;
                    if (NativeMembers.StringOf(item, out string? s) < 0) { taken = true; return IntPtr.Zero; }
                    if (i == 0) s0 = s; else s1 = s;
                    break;
            }
        }
        long h = NativeMembers.HandleOf(obj);
        if (h == 0) return IntPtr.Zero;
        object? target = NativeMembers.TargetFor(h, plan);
        if (target == null) return IntPtr.Zero;
        taken = true;
        try { return plan.Invoke(target, l0, l1, d0, d1, s0, s1, false); }
        catch (Exception e) { return NativeMembers.Raise(e); }
    }

    /// <summary><c>tp_call</c> of NativeBound: the bound method's group's plan on its
    /// <c>__self__</c>, else <c>BoundMethod.__call__</c> (the Python path).</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static IntPtr BoundCall(IntPtr bound, IntPtr args, IntPtr kwargs)
    {
        try
        {
            if (kwargs == IntPtr.Zero)
            {
                IntPtr group = GroupGet(NativeGroups.GroupSlot, bound, IntPtr.Zero);
                if (group == IntPtr.Zero) return IntPtr.Zero;  // AttributeError (never set: the binding sets it)
                bool found = _plans.TryGetValue(group, out Plan? plan);
                PyApi.Py_DecRef(group);  // the table keeps the group alive
                if (found)
                {
                    IntPtr obj = SelfGet(NativeGroups.SelfSlot, bound, IntPtr.Zero);
                    if (obj == IntPtr.Zero) return IntPtr.Zero;
                    IntPtr r;
                    bool taken;
                    try { r = Run(plan!, obj, args, 0, out taken); }
                    finally { PyApi.Py_DecRef(obj); }
                    if (taken) return r;
                }
            }
            // BoundMethod.__call__(bound, *args, **kwargs)
            nint n = PyApi.PyTuple_Size(args);
            IntPtr all = PyApi.PyTuple_New(n + 1);
            if (all == IntPtr.Zero) return IntPtr.Zero;
            PyApi.Py_IncRef(bound);
            PyApi.PyTuple_SetItem(all, 0, bound);
            for (nint i = 0; i < n; i++)
            {
                IntPtr item = PyApi.PyTuple_GetItem(args, i);
                PyApi.Py_IncRef(item);
                PyApi.PyTuple_SetItem(all, i + 1, item);
            }
            IntPtr result = PyApi.PyObject_Call(BoundCallFunction, all, kwargs);
            PyApi.Py_DecRef(all);
            return result;
        }
        catch (Exception e)
        {
            return NativeMembers.Raise(e);
        }
    }

    private static bool IndexerPlan(IntPtr self, out Plan? plan)
    {
        if (_plans.TryGetValue(self, out plan)) return true;
        PyApi.SetError("pyclrbridge: unknown native indexer");
        return false;
    }

    /// <summary><c>tp_call</c> of NativeIndexer: <c>(obj, key)</c> or <c>(obj, key, value)</c>.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static IntPtr IndexerCall(IntPtr self, IntPtr args, IntPtr kwargs)
    {
        try
        {
            if (!IndexerPlan(self, out Plan? plan)) return IntPtr.Zero;
            if (kwargs == IntPtr.Zero && PyApi.PyTuple_Size(args) >= 1)
            {
                IntPtr r = Run(plan!, PyApi.PyTuple_GetItem(args, 0), args, 1, out bool taken);
                if (taken) return r;
            }
            return PyApi.PyObject_Call(plan!.Fallback, args, kwargs);
        }
        catch (Exception e)
        {
            return NativeMembers.Raise(e);
        }
    }

    /// <summary>Binding (<c>obj.__getitem__</c>) is the Python function's.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static IntPtr IndexerDescrGet(IntPtr self, IntPtr obj, IntPtr type)
    {
        try
        {
            if (!IndexerPlan(self, out Plan? plan)) return IntPtr.Zero;
            IntPtr ftype = PyApi.TypeOf(plan!.Fallback);
            var get = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)PyApi.PyType_GetSlot(ftype, PyApi.Slot.DescrGet);
            if (get == null)
            {
                PyApi.Py_IncRef(plan.Fallback);
                return plan.Fallback;
            }
            return get(plan.Fallback, obj, type);
        }
        catch (Exception e)
        {
            return NativeMembers.Raise(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static IntPtr IndexerGetAttro(IntPtr self, IntPtr name)
    {
        try { return IndexerPlan(self, out Plan? plan) ? PyApi.PyObject_GetAttr(plan!.Fallback, name) : IntPtr.Zero; }
        catch (Exception e) { return NativeMembers.Raise(e); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static IntPtr IndexerRepr(IntPtr self)
    {
        try { return IndexerPlan(self, out Plan? plan) ? PyApi.PyObject_Repr(plan!.Fallback) : IntPtr.Zero; }
        catch (Exception e) { return NativeMembers.Raise(e); }
    }

    /// <summary>Makes the two types (caller: <see cref="NativeGroups.TypeFor"/>, under its lock).</summary>
    internal static void MakeTypes(IntPtr boundMethodType, IntPtr boundCall)
    {
        IntPtr bound = PyApi.SubType("pyclrbridge.proxies.native.NativeBound", boundMethodType, PyApi.DefaultFlags, stackalloc[]
        {
            new PyTypeSlot { Slot = PyApi.Slot.Call, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)&BoundCall },
        });
        // Garbage-collected like NativeMember (PyApi.GcTraverse), so its count can be deferred.
        IntPtr indexer = PyApi.SubType("pyclrbridge.proxies.native.NativeIndexer", IntPtr.Zero,
            PyApi.DefaultFlags | PyApi.MethodDescriptor | PyApi.HaveGc | PyApi.ImmutableType | PyApi.DisallowInstantiation, stackalloc[]
            {
                PyApi.GcTraverse,
                new PyTypeSlot { Slot = PyApi.Slot.Call, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)&IndexerCall },
                new PyTypeSlot { Slot = PyApi.Slot.DescrGet, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)&IndexerDescrGet },
                new PyTypeSlot { Slot = PyApi.Slot.GetAttro, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr>)&IndexerGetAttro },
                new PyTypeSlot { Slot = PyApi.Slot.Repr, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr>)&IndexerRepr },
            });
        BoundType = bound;  // our references, kept
        IndexerType = indexer;
        PyApi.Py_IncRef(boundCall);
        BoundCallFunction = boundCall;
    }
}

public static unsafe partial class Exports
{
    /// <summary>Step one of a native call (<see cref="NativeCalls.Prepare"/>), with the GIL
    /// released: a token, 0 when the method does not qualify, -1 when preparing failed.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static long NativeCallPrepare(int memberId)
    {
        try { return NativeCalls.Prepare(memberId); }
        catch (Exception) { return -1; }
    }

    /// <summary>Step two, with the GIL held (<see cref="NativeCalls.Register"/>): the registered
    /// object in <paramref name="result"/> (a reference the shim keeps). 0 made; 2 with the
    /// exception in <paramref name="error"/>; 3 failed.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int NativeCallRegister(long token, IntPtr group, IntPtr fallback, IntPtr* result, Value* error)
    {
        try
        {
            *result = NativeCalls.Register(token, group, fallback);
            return 0;
        }
        catch (Exception e) { return Fail(e, error) == 1 ? 2 : 3; }
    }
}

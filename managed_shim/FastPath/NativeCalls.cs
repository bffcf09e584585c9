using System;
using System.Collections.Concurrent;
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
/// A method or indexer accessor with one overload is registered, with at most two parameters of
/// the kinds the slots convert (integers, bool, double, string) and a result they build
/// (<see cref="NativeMembers.Kind"/>, or void). One the GIL policy proves leaf is called with
/// the GIL held; any other is called <em>releasing</em> (<see cref="RunReleasing"/>): arguments
/// converted and the target read with the GIL, the GIL released around the .NET call only
/// (<see cref="Releasing"/>), the result built or the exception raised with the GIL back. A call
/// the slot does not take goes to the Python path, in the cases <see cref="NativeMembers"/>
/// lists, and also for keywords or any argument that is not an exact int (in range), float,
/// bool or str of the parameter's kind.
/// </para>
/// <para>
/// This class registers plans and holds the two types' slots, which run them. Step one (the
/// shape check, the GIL policy, compiling, the dry run) is <see cref="NativeCallCompiler"/>;
/// the plan it makes is a <see cref="NativeCallPlan"/>; argument and result conversions are
/// <see cref="NativeConversions"/>.
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
    private static readonly ConcurrentDictionary<IntPtr, NativeCallPlan> _plans = new();
    private static volatile int _planCount;

    /// <summary>Whether method group <paramref name="group"/> has a plan (its bound methods
    /// are then NativeBound). Cheap when none is registered.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool HasPlan(IntPtr group) => _planCount != 0 && _plans.ContainsKey(group);

    /// <summary>Step two, with the GIL: registers the plan of <paramref name="token"/> for
    /// method group <paramref name="group"/> (<paramref name="fallback"/> zero), or makes a
    /// NativeIndexer calling it that falls back to Python function <paramref name="fallback"/>.
    /// Returns the registered object (a reference this table keeps).</summary>
    public static IntPtr Register(long token, IntPtr group, IntPtr fallback)
    {
        if (IndexerType == IntPtr.Zero) throw new InvalidOperationException("native calls are not set up");
        if (!NativeCallCompiler.TryTake(token, out NativeCallPlan? plan)) throw new ArgumentException($"no prepared native call {token}");
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
    private static IntPtr Run(NativeCallPlan plan, IntPtr obj, IntPtr args, int first, out bool taken)
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
                    if (NativeConversions.ArgumentText(item, out string? s) < 0) { taken = true; return IntPtr.Zero; }
                    if (i == 0) s0 = s; else s1 = s;
                    break;
            }
        }
        long h = NativeMembers.HandleOf(obj);
        if (h == 0) return IntPtr.Zero;
        if (plan.Releasing != null) return RunReleasing(plan, h, l0, l1, d0, d1, s0, s1, out taken);
        object? target = NativeMembers.TargetFor(h, plan);
        if (target == null) return IntPtr.Zero;
        taken = true;
        try { return plan.Invoke(target, l0, l1, d0, d1, s0, s1, false); }
        catch (Exception e) { return NativeMembers.Raise(e); }
    }

    /// <summary>Run's end for a releasing plan: the call with the GIL released, then its result
    /// built (or its exception raised) with the GIL back. Between <see cref="Releasing.Release"/>
    /// and <see cref="Releasing.Reacquire"/> only C# values are touched: the target is a local
    /// (a strong reference: a release of the proxy meanwhile cannot free it), the arguments
    /// are C# values, nothing reads or writes a Python object or calls the C-API.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static IntPtr RunReleasing(NativeCallPlan plan, long h, long l0, long l1, double d0, double d1, string? s0, string? s1, out bool taken)
    {
        taken = false;
        if (!Releasing.Open || !Handles.TryTarget(h, out object? target) || target == null || target is IPythonDerived
            || !plan.Takes(target.GetType())) return IntPtr.Zero;
        taken = true;
        NativeCallPlan.Outcome outcome = default;
        Exception? failure = null;
        IntPtr state = Releasing.Release();
        try { plan.Releasing!(target, l0, l1, d0, d1, s0, s1, false, ref outcome); }
        catch (Exception e) { failure = e; }
        finally { Releasing.Reacquire(state); }
        if (failure != null) return NativeMembers.Raise(failure);
        if (outcome.Refused)
        {
            taken = false;  // the guard ran (a read of Count), the member did not
            return IntPtr.Zero;
        }
        return plan.Result switch
        {
            NativeMembers.Kind.None => NativeConversions.NoneRef(),
            NativeMembers.Kind.Signed => NativeConversions.FromLong(outcome.L),
            NativeMembers.Kind.UInt64 => NativeConversions.FromULong(unchecked((ulong)outcome.L)),
            NativeMembers.Kind.Bool => NativeConversions.FromBool(outcome.L != 0),
            NativeMembers.Kind.Double or NativeMembers.Kind.Single => NativeConversions.FromDouble(outcome.D),
            NativeMembers.Kind.String => NativeConversions.FromString(outcome.S),
            _ => NativeConversions.FromChar((char)outcome.L),
        };
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
                bool found = _plans.TryGetValue(group, out NativeCallPlan? plan);
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

    private static bool IndexerPlan(IntPtr self, out NativeCallPlan? plan)
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
            if (!IndexerPlan(self, out NativeCallPlan? plan)) return IntPtr.Zero;
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
            if (!IndexerPlan(self, out NativeCallPlan? plan)) return IntPtr.Zero;
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
        try { return IndexerPlan(self, out NativeCallPlan? plan) ? PyApi.PyObject_GetAttr(plan!.Fallback, name) : IntPtr.Zero; }
        catch (Exception e) { return NativeMembers.Raise(e); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static IntPtr IndexerRepr(IntPtr self)
    {
        try { return IndexerPlan(self, out NativeCallPlan? plan) ? PyApi.PyObject_Repr(plan!.Fallback) : IntPtr.Zero; }
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
    /// <summary>Step one of a native call (<see cref="NativeCallCompiler.Prepare(int)"/>), with the GIL
    /// released: a token, 0 when the method does not qualify, -1 when preparing failed.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static long NativeCallPrepare(int memberId)
    {
        try { return NativeCallCompiler.Prepare(memberId); }
        catch (Exception) { return -1; }
    }

    /// <summary>Step one of the list protocol's native indexers (<see cref="NativeCallCompiler.PrepareListIndexer"/>),
    /// with the GIL released: a token, 0 when it does not qualify, -1 when preparing failed.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static long NativeCallPrepareListIndexer(int memberId, int typeId)
    {
        try { return NativeCallCompiler.PrepareListIndexer(memberId, typeId); }
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

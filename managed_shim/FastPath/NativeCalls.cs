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

    /// <summary>A releasing call's result as C# values (built into Python after the GIL is back):
    /// integers, bool and char in <see cref="L"/> (ulong as its bits), double and float in
    /// <see cref="D"/>, a string in <see cref="S"/>.</summary>
#pragma warning disable CS0649  // written by the compiled expression (Expression.Field), not by C# source
    internal struct Outcome
    {
        public long L;
        public double D;
        public string? S;
        public bool Refused;  // a guarded plan's guard failed: nothing ran, the Python path takes the call
    }
#pragma warning restore CS0649

    internal delegate void ReleasingInvoker(object? target, long l0, long l1, double d0, double d1, string? s0, string? s1, bool dry, ref Outcome outcome);

    internal sealed class Plan : NativeMembers.Accessor
    {
        public Invoker Invoke = null!;
        public NativeMembers.Kind[] Params = Array.Empty<NativeMembers.Kind>();
        public (long Min, long Max)[] Ranges = Array.Empty<(long, long)>();
        public IntPtr Fallback;  // a NativeIndexer's Python function (a reference kept)
        // A member the GIL policy does not prove leaf: called through Release (GIL released),
        // its result built from Outcome after the GIL is back. Null for a leaf plan.
        public ReleasingInvoker? Releasing;
        public NativeMembers.Kind Result;  // None: void
        public Type Owner = typeof(object);
        public Type? Exact;  // a guarded plan serves objects of exactly this type only
        // The last exact type found to be an Owner (one reference, read and written atomically:
        // a lost race only repeats the check), so the reflection check runs once per type.
        private Type? _fits;

        /// <summary>Whether an object of exactly type <paramref name="t"/> is one this plan's
        /// compiled call may take (its cast cannot fail).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Takes(Type t)
        {
            if (Exact != null) return t == Exact;
            if (ReferenceEquals(Volatile.Read(ref _fits), t)) return true;
            if (!Owner.IsAssignableFrom(t)) return false;
            Volatile.Write(ref _fits, t);
            return true;
        }

        public override void DryRun()
        {
            if (Releasing != null)
            {
                Outcome o = default;
                Releasing(null, 0, 0, 0, 0, null, null, true, ref o);
            }
            else Invoke(null, 0, 0, 0, 0, null, null, true);
        }
    }

    /// <summary>Step one, without the GIL (the proof and the compiler may run class
    /// constructors): compile method <paramref name="memberId"/> and run it once dry: held when
    /// the GIL policy proves it leaf, else releasing (see <see cref="Releasing"/>). A token for
    /// <see cref="Register"/>, or 0 when it does not qualify.</summary>
    public static long Prepare(int memberId) => Prepare(memberId, null);

    /// <summary><see cref="Prepare(int)"/> for the indexer getter or setter <paramref name="memberId"/>
    /// of <c>IList&lt;T&gt;</c> as the list protocol calls it on an object of exactly type
    /// <paramref name="typeId"/>, a <c>List&lt;T&gt;</c>: guarded (with the GIL released, the
    /// index is checked against <c>Count</c> first, and a call out of range is left to the
    /// Python path, which raises its IndexError; the accessor never runs for it). 0 when the
    /// member or the type is not that.</summary>
    public static long PrepareListIndexer(int memberId, int typeId)
    {
        Type exact = TypeCatalog.TypeOf(typeId);
        if (!exact.IsGenericType || exact.GetGenericTypeDefinition() != typeof(System.Collections.Generic.List<>)) return 0;
        Type item = exact.GetGenericArguments()[0];
        Type iface = typeof(System.Collections.Generic.IList<>).MakeGenericType(item);
        if (TypeCatalog.MemberOf(memberId) is not MethodInfo m || m.DeclaringType != iface || m.Name is not ("get_Item" or "set_Item")) return 0;
        return Prepare(memberId, exact);
    }

    private static long Prepare(int memberId, Type? exact)
    {
        NativeMembers.EnsureCompiled();
        // The UTF-8 decoder of string arguments runs first here, without the GIL (its class
        // constructor and code), never first in a slot.
        _ = System.Text.Encoding.UTF8.GetString("a\u00e9\U0001F600"u8);
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
        NativeMembers.Kind resultKind = m.ReturnType == typeof(void) ? NativeMembers.Kind.None : NativeMembers.KindOf(m.ReturnType);
        if (resultKind == NativeMembers.Kind.None && m.ReturnType != typeof(void)) return 0;
        Plan plan;
        if (exact != null)
        {
            Expression body = OutcomeOf(m, owner, kinds, resultKind, out ParameterExpression[] parameters);
            // if (0 <= l0 < ((List<T>)target).Count) body else outcome.Refused = true
            Expression count = Expression.Property(Expression.Convert(parameters[0], exact), "Count");
            Expression inRange = Expression.LessThan(Expression.Convert(parameters[1], typeof(ulong)), Expression.Convert(count, typeof(ulong)));
            Expression refuse = Expression.Assign(Expression.Field(parameters[8], nameof(Outcome.Refused)), Expression.Constant(true));
            Expression guarded = Expression.IfThen(Expression.Not(parameters[7]), Expression.IfThenElse(inRange, body, refuse));
            plan = new Plan { Releasing = Expression.Lambda<ReleasingInvoker>(guarded, parameters).Compile(), Exact = exact };
        }
        else if (GilPolicy.IsShort(memberId, 0))
        {
            Expression? result = ResultOf(m, owner, kinds, out ParameterExpression[] parameters);
            if (result == null) return 0;
            plan = new Plan
            {
                Invoke = Expression.Lambda<Invoker>(result, parameters).Compile(),
                Virtual = m.IsVirtual && !m.IsFinal && !owner.IsSealed,
            };
        }
        else
        {
            Expression body = OutcomeOf(m, owner, kinds, resultKind, out ParameterExpression[] parameters);
            plan = new Plan { Releasing = Expression.Lambda<ReleasingInvoker>(body, parameters).Compile() };
        }
        plan.Params = kinds;
        plan.Ranges = ranges;
        plan.MemberId = memberId;
        plan.Result = resultKind;
        plan.Owner = owner;
        plan.DryRun();
        long token = Interlocked.Increment(ref _nextToken);
        _prepared[token] = plan;
        return token;
    }

    /// <summary>The call of <paramref name="m"/> on the converted arguments, over parameters
    /// (target, l0, l1, d0, d1, s0, s1, dry[, outcome]).</summary>
    private static Expression CallOf(MethodInfo m, Type owner, NativeMembers.Kind[] kinds, bool outcome, out ParameterExpression[] parameters)
    {
        ParameterExpression target = Expression.Parameter(typeof(object), "target");
        ParameterExpression l0 = Expression.Parameter(typeof(long), "l0"), l1 = Expression.Parameter(typeof(long), "l1");
        ParameterExpression d0 = Expression.Parameter(typeof(double), "d0"), d1 = Expression.Parameter(typeof(double), "d1");
        ParameterExpression s0 = Expression.Parameter(typeof(string), "s0"), s1 = Expression.Parameter(typeof(string), "s1");
        ParameterExpression dry = Expression.Parameter(typeof(bool), "dry");
        parameters = outcome
            ? new[] { target, l0, l1, d0, d1, s0, s1, dry, Expression.Parameter(typeof(Outcome).MakeByRefType(), "outcome") }
            : new[] { target, l0, l1, d0, d1, s0, s1, dry };
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
        return Expression.Call(Expression.Convert(target, owner), m, args);
    }

    /// <summary>A releasing plan's body: the call, its result stored in the outcome (no Python
    /// object: this runs with the GIL released).</summary>
    private static Expression OutcomeOf(MethodInfo m, Type owner, NativeMembers.Kind[] kinds, NativeMembers.Kind result, out ParameterExpression[] parameters)
    {
        Expression call = CallOf(m, owner, kinds, true, out parameters);
        ParameterExpression outcome = parameters[8];
        Expression stored = result switch
        {
            NativeMembers.Kind.None => call,
            NativeMembers.Kind.Bool => Expression.Assign(Expression.Field(outcome, nameof(Outcome.L)),
                Expression.Condition(call, Expression.Constant(1L), Expression.Constant(0L))),
            NativeMembers.Kind.Double or NativeMembers.Kind.Single => Expression.Assign(Expression.Field(outcome, nameof(Outcome.D)), Expression.Convert(call, typeof(double))),
            NativeMembers.Kind.String => Expression.Assign(Expression.Field(outcome, nameof(Outcome.S)), call),
            _ => Expression.Assign(Expression.Field(outcome, nameof(Outcome.L)), Expression.Convert(call, typeof(long))),  // Signed, UInt64 (its bits), Char
        };
        return Expression.IfThen(Expression.Not(parameters[7]), stored);
    }

    /// <summary>A held plan's body: the call and its Python result (NULL on a dry run).</summary>
    private static Expression? ResultOf(MethodInfo m, Type owner, NativeMembers.Kind[] kinds, out ParameterExpression[] parameters)
    {
        Expression call = CallOf(m, owner, kinds, false, out parameters);
        ParameterExpression dry = parameters[7];
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
                    if (ArgumentText(item, out string? s) < 0) { taken = true; return IntPtr.Zero; }
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
    private static IntPtr RunReleasing(Plan plan, long h, long l0, long l1, double d0, double d1, string? s0, string? s1, out bool taken)
    {
        taken = false;
        if (!Releasing.Open || !Handles.TryTarget(h, out object? target) || target == null || target is IPythonDerived
            || !plan.Takes(target.GetType())) return IntPtr.Zero;
        taken = true;
        Outcome outcome = default;
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
            NativeMembers.Kind.None => NoneRef(),
            NativeMembers.Kind.Signed => FromLong(outcome.L),
            NativeMembers.Kind.UInt64 => FromULong(unchecked((ulong)outcome.L)),
            NativeMembers.Kind.Bool => FromBool(outcome.L != 0),
            NativeMembers.Kind.Double or NativeMembers.Kind.Single => FromDouble(outcome.D),
            NativeMembers.Kind.String => FromString(outcome.S),
            _ => FromChar((char)outcome.L),
        };
    }

    private static readonly byte[] Utf8Name = "utf-8\0"u8.ToArray();

    /// <summary>The text of exact str argument <paramref name="value"/> as a .NET string: 0, or -1
    /// with a Python error set. Through strict UTF-8, which CPython encodes without a codec
    /// lookup (and copies as is for an ASCII string); a str holding a lone surrogate, which
    /// strict UTF-8 refuses, takes <see cref="NativeMembers.StringOf"/>'s UTF-16 route
    /// (surrogatepass). Strict UTF-8 never holds a surrogate, so decoding it gives exactly the
    /// str's code points.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ArgumentText(IntPtr value, out string? text)
    {
        IntPtr bytes;
        fixed (byte* encoding = Utf8Name)
            bytes = PyApi.PyUnicode_AsEncodedString(value, encoding, null);
        if (bytes == IntPtr.Zero)
        {
            PyApi.PyErr_Clear();  // UnicodeEncodeError (or out of memory, which the UTF-16 route meets again)
            return NativeMembers.StringOf(value, out text);
        }
        try
        {
            byte* data = PyApi.PyBytes_AsString(bytes);
            nint size = PyApi.PyBytes_Size(bytes);
            text = null;
            if (data == null) return -1;
            text = Utf8String(data, size);
            return 0;
        }
        finally
        {
            PyApi.Py_DecRef(bytes);
        }
    }

    /// <summary>The .NET string of <paramref name="size"/> bytes of valid UTF-8 at
    /// <paramref name="data"/>, made in a held section as <see cref="NativeMembers.NewString"/>
    /// makes its own (the caller holds the immutable bytes object).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string Utf8String(byte* data, nint size)
    {
        HeldCalls.Enter();
        try { return System.Text.Encoding.UTF8.GetString(data, checked((int)size)); }
        finally { HeldCalls.Exit(); }
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

    /// <summary>Step one of the list protocol's native indexers (<see cref="NativeCalls.PrepareListIndexer"/>),
    /// with the GIL released: a token, 0 when it does not qualify, -1 when preparing failed.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static long NativeCallPrepareListIndexer(int memberId, int typeId)
    {
        try { return NativeCalls.PrepareListIndexer(memberId, typeId); }
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

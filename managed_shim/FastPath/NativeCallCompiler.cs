using System;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Linq.Expressions;
using System.Reflection;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>Step one of a native call (<see cref="NativeCalls"/>), without the GIL: checks that a
/// member has the shape the slots convert, asks the GIL policy, compiles the held or releasing
/// call (a <see cref="NativeCallPlan"/>), runs it once dry, and keeps it by token until
/// <see cref="NativeCalls.Register"/> takes it.</summary>
internal static class NativeCallCompiler
{
    // Compiled plans waiting for their registration (made with the GIL), by token.
    private static readonly ConcurrentDictionary<long, NativeCallPlan> _prepared = new();
    private static long _nextToken;

    /// <summary>Takes the plan <see cref="Prepare(int)"/> made for <paramref name="token"/> (once).</summary>
    internal static bool TryTake(long token, [NotNullWhen(true)] out NativeCallPlan? plan) => _prepared.TryRemove(token, out plan);

    /// <summary>Step one, without the GIL (the proof and the compiler may run class
    /// constructors): compile method <paramref name="memberId"/> and run it once dry: held when
    /// the GIL policy proves it leaf, else releasing (see <see cref="Releasing"/>). A token for
    /// <see cref="NativeCalls.Register"/>, or 0 when it does not qualify.</summary>
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
        NativeCallPlan plan;
        if (exact != null)
        {
            Expression body = OutcomeOf(m, owner, kinds, resultKind, out ParameterExpression[] parameters);
            // if (0 <= l0 < ((List<T>)target).Count) body else outcome.Refused = true
            Expression count = Expression.Property(Expression.Convert(parameters[0], exact), "Count");
            Expression inRange = Expression.LessThan(Expression.Convert(parameters[1], typeof(ulong)), Expression.Convert(count, typeof(ulong)));
            Expression refuse = Expression.Assign(Expression.Field(parameters[8], nameof(NativeCallPlan.Outcome.Refused)), Expression.Constant(true));
            Expression guarded = Expression.IfThen(Expression.Not(parameters[7]), Expression.IfThenElse(inRange, body, refuse));
            plan = new NativeCallPlan { Releasing = Expression.Lambda<NativeCallPlan.ReleasingInvoker>(guarded, parameters).Compile(), Exact = exact };
        }
        else if (GilPolicy.IsShort(memberId, 0))
        {
            Expression? result = ResultOf(m, owner, kinds, out ParameterExpression[] parameters);
            if (result == null) return 0;
            plan = new NativeCallPlan
            {
                Invoke = Expression.Lambda<NativeCallPlan.Invoker>(result, parameters).Compile(),
                Virtual = m.IsVirtual && !m.IsFinal && !owner.IsSealed,
            };
        }
        else
        {
            Expression body = OutcomeOf(m, owner, kinds, resultKind, out ParameterExpression[] parameters);
            plan = new NativeCallPlan { Releasing = Expression.Lambda<NativeCallPlan.ReleasingInvoker>(body, parameters).Compile() };
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
            ? new[] { target, l0, l1, d0, d1, s0, s1, dry, Expression.Parameter(typeof(NativeCallPlan.Outcome).MakeByRefType(), "outcome") }
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
            NativeMembers.Kind.Bool => Expression.Assign(Expression.Field(outcome, nameof(NativeCallPlan.Outcome.L)),
                Expression.Condition(call, Expression.Constant(1L), Expression.Constant(0L))),
            NativeMembers.Kind.Double or NativeMembers.Kind.Single => Expression.Assign(Expression.Field(outcome, nameof(NativeCallPlan.Outcome.D)), Expression.Convert(call, typeof(double))),
            NativeMembers.Kind.String => Expression.Assign(Expression.Field(outcome, nameof(NativeCallPlan.Outcome.S)), call),
            _ => Expression.Assign(Expression.Field(outcome, nameof(NativeCallPlan.Outcome.L)), Expression.Convert(call, typeof(long))),  // Signed, UInt64 (its bits), Char
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
        if (r == typeof(void)) built = Expression.Block(call, Expression.Call(Helper(nameof(NativeConversions.NoneRef))));
        else
        {
            built = NativeMembers.KindOf(r) switch
            {
                NativeMembers.Kind.Signed => Expression.Call(Helper(nameof(NativeConversions.FromLong)), Expression.Convert(call, typeof(long))),
                NativeMembers.Kind.UInt64 => Expression.Call(Helper(nameof(NativeConversions.FromULong)), call),
                NativeMembers.Kind.Bool => Expression.Call(Helper(nameof(NativeConversions.FromBool)), call),
                NativeMembers.Kind.Double or NativeMembers.Kind.Single => Expression.Call(Helper(nameof(NativeConversions.FromDouble)), Expression.Convert(call, typeof(double))),
                NativeMembers.Kind.String => Expression.Call(Helper(nameof(NativeConversions.FromString)), call),
                NativeMembers.Kind.Char => Expression.Call(Helper(nameof(NativeConversions.FromChar)), call),
                _ => null,
            };
        }
        return built == null ? null : Expression.Condition(dry, Expression.Constant(IntPtr.Zero), built);
    }

    private static MethodInfo Helper(string name) =>
        typeof(NativeConversions).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Static)!;
}

using System;
using System.Collections.Generic;
using System.Dynamic;
using System.Linq;
using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>
/// Members of dynamic objects (any <see cref="IDynamicMetaObjectProvider"/>: ExpandoObject,
/// DynamicObject subclasses, Json.NET's JObject...) through the DLR, as C#'s <c>dynamic</c>
/// reaches them. Each operation is one compiled lambda around a DLR call site whose binder is
/// ours: when the object does not provide the member, the binder's fallback answers
/// <see cref="Missing"/> (get, set, invoke) or throws <see cref="DynamicMemberMissing"/>
/// (delete), which Python turns into AttributeError. Our binders never bind the type's real
/// .NET members: Python found those before it asked here.
/// </summary>
internal static class DynamicMembers
{
    /// <summary>The answer of a fallback: the object has no such dynamic member.</summary>
    public static readonly object Missing = new();

    public const int Get = 0, Set = 1, Invoke = 2, Delete = 3;

    /// <summary>How many compiled call sites are kept (least recently used go first): each
    /// costs a few kilobytes and a site per distinct member name would grow without end.</summary>
    public const int Capacity = 512;

    // (receiver type, operation, name, argument count) -> compiled call site, most recently
    // used first. Owner: _sitesLock guards the dictionary and the list together (a hit moves
    // its node to the front, a miss may evict the last); compiling happens outside the lock,
    // once per entry (Lazy). Keyed by type as well as name so every site stays monomorphic
    // (the DLR's rule cache then hits its first rule), and so that the sites of a collectible
    // type (a Python DynamicObject subclass) can be dropped with it (Forget): a site's rules
    // refer to the receiver type and would keep its assembly loaded.
    private static readonly object _sitesLock = new();
    private static readonly Dictionary<(Type, int, string, int), LinkedListNode<Site>> _sites = new();
    private static readonly LinkedList<Site> _recent = new();

    private sealed record Site((Type, int, string, int) Key, Lazy<Func<object, object?[], object?>> Compiled);

    // Compiling a lambda around a dynamic expression may define a delegate type for the call
    // site (wide arities): serialized, as every type-defining emission in the shim is.
    private static readonly object _compileLock = new();

    public static int Count
    {
        get { lock (_sitesLock) return _sites.Count; }
    }

    public static object? Run(int op, object target, string name, object?[] args)
    {
        if (target is not IDynamicMetaObjectProvider)
            throw new ArgumentException($"{target.GetType().FullName} is not a dynamic object (IDynamicMetaObjectProvider)");
        var key = (target.GetType(), op, name, args.Length);
        return SiteFor(key).Value(target, args);
    }

    private static Lazy<Func<object, object?[], object?>> SiteFor((Type, int, string, int) key)
    {
        lock (_sitesLock)
        {
            if (_sites.TryGetValue(key, out LinkedListNode<Site>? node))
            {
                if (node != _recent.First)
                {
                    _recent.Remove(node);
                    _recent.AddFirst(node);
                }
                return node.Value.Compiled;
            }
            var site = new Site(key, new Lazy<Func<object, object?[], object?>>(() => Build(key.Item2, key.Item3, key.Item4)));
            _sites[key] = _recent.AddFirst(site);
            while (_sites.Count > Capacity)
            {
                LinkedListNode<Site> last = _recent.Last!;
                _recent.RemoveLast();
                _sites.Remove(last.Value.Key);
            }
            return site.Compiled;
        }
    }

    /// <summary>Drops the call sites of types built from <paramref name="dying"/>'s types (a Python DynamicObject subclass's).</summary>
    public static void Forget(System.Reflection.Assembly dying)
    {
        lock (_sitesLock)
        {
            for (LinkedListNode<Site>? node = _recent.First; node != null;)
            {
                LinkedListNode<Site>? next = node.Next;
                if (Collectibles.DependsOn(node.Value.Key.Item1, dying))
                {
                    _recent.Remove(node);
                    _sites.Remove(node.Value.Key);
                }
                node = next;
            }
        }
    }

    /// <summary>The names the object lists as its dynamic members (GetDynamicMemberNames).</summary>
    public static string[] Names(object target)
    {
        if (target is not IDynamicMetaObjectProvider provider) return Array.Empty<string>();
        DynamicMetaObject meta = provider.GetMetaObject(Expression.Constant(target));
        return meta.GetDynamicMemberNames().Distinct().OrderBy(n => n, StringComparer.Ordinal).ToArray();
    }

    private static Func<object, object?[], object?> Build(int op, string name, int argc)
    {
        ParameterExpression self = Expression.Parameter(typeof(object), "self");
        ParameterExpression args = Expression.Parameter(typeof(object?[]), "args");
        var operands = new List<Expression> { self };
        for (int i = 0; i < argc; i++) operands.Add(Expression.ArrayIndex(args, Expression.Constant(i)));
        Expression body = op switch
        {
            Get => Expression.Dynamic(new GetBinder(name), typeof(object), operands),
            Set => Expression.Dynamic(new SetBinder(name), typeof(object), operands),
            Invoke => Expression.Dynamic(new InvokeBinder(name, argc), typeof(object), operands),
            Delete => Expression.Block(
                Expression.Dynamic(new DeleteBinder(name), typeof(void), operands),
                Expression.Constant(null, typeof(object))),
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown dynamic operation"),
        };
        lock (_compileLock)
            return Expression.Lambda<Func<object, object?[], object?>>(body, self, args).Compile();
    }

    /// <summary>What a fallback answers: the object's own suggestion when it made one (a
    /// DynamicObject's "call TryGetMember, else..."), else <see cref="Missing"/>.</summary>
    private static DynamicMetaObject Fallback(DynamicMetaObject target, DynamicMetaObject? suggestion, Expression missing) =>
        suggestion ?? new DynamicMetaObject(missing,
            BindingRestrictions.GetTypeRestriction(target.Expression, target.LimitType).Merge(target.Restrictions));

    private static readonly Expression MissingValue = Expression.Constant(Missing, typeof(object));

    private sealed class GetBinder(string name) : GetMemberBinder(name, ignoreCase: false)
    {
        public override DynamicMetaObject FallbackGetMember(DynamicMetaObject target, DynamicMetaObject? errorSuggestion) =>
            Fallback(target, errorSuggestion, MissingValue);
    }

    private sealed class SetBinder(string name) : SetMemberBinder(name, ignoreCase: false)
    {
        public override DynamicMetaObject FallbackSetMember(DynamicMetaObject target, DynamicMetaObject value, DynamicMetaObject? errorSuggestion) =>
            Fallback(target, errorSuggestion, MissingValue);
    }

    private sealed class InvokeBinder(string name, int argc) : InvokeMemberBinder(name, ignoreCase: false, new CallInfo(argc))
    {
        public override DynamicMetaObject FallbackInvokeMember(DynamicMetaObject target, DynamicMetaObject[] args, DynamicMetaObject? errorSuggestion) =>
            Fallback(target, errorSuggestion, MissingValue);

        // A member the object answers with a value (a delegate it holds): invoke that value at
        // run time. The value is the result of the object's own lookup (often a local of the
        // rule), so no restriction may mention it: the object's rule already guards this one.
        public override DynamicMetaObject FallbackInvoke(DynamicMetaObject target, DynamicMetaObject[] args, DynamicMetaObject? errorSuggestion) =>
            errorSuggestion ?? new DynamicMetaObject(
                Expression.Call(InvokeValueMethod,
                    Expression.Convert(target.Expression, typeof(object)),
                    Expression.NewArrayInit(typeof(object), args.Select(a => Expression.Convert(a.Expression, typeof(object))))),
                BindingRestrictions.Empty);
    }

    private static readonly System.Reflection.MethodInfo InvokeValueMethod =
        typeof(DynamicMembers).GetMethod(nameof(InvokeValue), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)
        ?? throw new MissingMethodException(nameof(DynamicMembers), nameof(InvokeValue));

    /// <summary>A dynamic member's value called with <paramref name="args"/>: a delegate runs,
    /// anything else is not callable (<see cref="Missing"/>).</summary>
    private static object? InvokeValue(object? value, object?[] args)
    {
        if (value is not Delegate d) return Missing;
        try { return d.DynamicInvoke(args); }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException != null)
        {
            // DynamicInvoke is the bridge's reflection: the delegate's own exception, as a call gives it.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private sealed class DeleteBinder(string name) : DeleteMemberBinder(name, ignoreCase: false)
    {
        public override DynamicMetaObject FallbackDeleteMember(DynamicMetaObject target, DynamicMetaObject? errorSuggestion) =>
            Fallback(target, errorSuggestion, Expression.Throw(
                Expression.New(typeof(DynamicMemberMissing).GetConstructor(new[] { typeof(string) })!, Expression.Constant(Name)),
                typeof(void)));
    }
}

/// <summary>Thrown by the delete fallback: the dynamic object has no member of that name to delete.</summary>
internal sealed class DynamicMemberMissing(string name) : Exception($"no dynamic member {name}")
{
}

public static unsafe partial class Exports
{
    /// <summary>
    /// A dynamic member operation on the object behind <paramref name="target"/>:
    /// <paramref name="op"/> 0 get, 1 set (one argument), 2 invoke, 3 delete. Returns 0 with the
    /// result in <paramref name="result"/>, 3 when the object has no such dynamic member, or 1
    /// with the .NET exception in <paramref name="error"/>.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int DynamicMember(long target, int op, char* name, int length, Value* args, int nargs, Value* result, Value* error)
    {
        int read = -1;  // the last argument being read (see Unsent.Settle)
        try
        {
            object self = Handles.Target(target);
            var converted = new object?[nargs];
            for (int i = 0; i < nargs; i++)
            {
                read = i;
                converted[i] = Values.ToClr(args[i], typeof(object));
            }
            object? value;
            try { value = DynamicMembers.Run(op, self, Text(name, length), converted); }
            catch (DynamicMemberMissing) { return 3; }
            for (int i = 0; i < nargs; i++) BufferValues.CopyBack(args[i], converted[i]);
            if (ReferenceEquals(value, DynamicMembers.Missing)) return 3;
            Arena.Reset();
            Values.FromClr(value, result);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
        finally { Unsent.Settle(args, nargs, read); }
    }

    /// <summary>The object's dynamic member names as a JSON array of strings.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int DynamicMemberNames(long target, Value* result, Value* error)
    {
        try
        {
            return Json(System.Text.Json.JsonSerializer.Serialize(DynamicMembers.Names(Handles.Target(target))), result);
        }
        catch (Exception e) { return Fail(e, error); }
    }
}

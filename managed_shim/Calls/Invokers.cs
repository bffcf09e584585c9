using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Linq.Expressions;
using System.Reflection;

namespace PyClrBridge.Shim;

/// <summary>A callable stub for one member: converts nothing, just calls with typed arguments.</summary>
internal sealed class Invoker
{
    public readonly Type[] ParameterTypes;
    public readonly ParameterInfo?[] Parameters;
    public readonly int[] ByRefPositions;
    public readonly bool IsConstructor;
    public readonly bool ReturnsVoid;
    public bool IsField { get; init; }
    public readonly Func<object?, object?[], object?> Call;

    public Invoker(Type[] types, ParameterInfo?[] parameters, bool isCtor, bool returnsVoid, Func<object?, object?[], object?> call)
    {
        ParameterTypes = types;
        Parameters = parameters;
        ByRefPositions = Enumerable.Range(0, types.Length).Where(i => types[i].IsByRef).ToArray();
        IsConstructor = isCtor;
        ReturnsVoid = returnsVoid;
        Call = call;
    }

    /// <summary>The value an omitted optional argument takes.</summary>
    public object? DefaultFor(int index)
    {
        ParameterInfo? p = Parameters[index];
        Type t = ParameterTypes[index];
        if (t.IsByRef) t = t.GetElementType()!;
        if (p != null && p.HasDefaultValue && p.DefaultValue != null && p.DefaultValue != DBNull.Value)
            return p.DefaultValue is IConvertible && t.IsEnum ? Enum.ToObject(t, p.DefaultValue) : p.DefaultValue;
        if (p != null && p.IsDefined(typeof(ParamArrayAttribute), false))
            return Array.CreateInstance(t.GetElementType()!, 0);
        // [Optional] object without a default value: C# passes Type.Missing (COM's "omitted",
        // which Office interop and reflection-driven libraries test for); other types: default(T).
        if (p != null && t == typeof(object) && p.IsOptional && !Signatures.HasDefault(p))
            return Type.Missing;
        return t.IsValueType ? Invokers.New(t) : null;
    }
}

/// <summary>
/// Compiled invokers, one per member id, built once (expression trees) and cached.
/// </summary>
internal static class Invokers
{
    // Concurrent with Lazy: each member's stub is compiled exactly once, without a global lock
    // on the hot path.
    private static readonly ConcurrentDictionary<int, Lazy<Invoker>> _cache = new();

    public static int Count => _cache.Count;

    /// <summary><c>new T()</c> for a struct: its public parameterless constructor (C# 10) when it
    /// has one, whose exception is thrown as itself, else the zeroed value.</summary>
    public static object New(Type valueType) =>
        Activator.CreateInstance(valueType, BindingFlags.Public | BindingFlags.Instance | BindingFlags.CreateInstance
            | BindingFlags.DoNotWrapExceptions, null, null, null)!;

    public static Invoker Get(int memberId) =>
        _cache.GetOrAdd(memberId, id => new Lazy<Invoker>(() => Build(TypeCatalog.MemberOf(id)))).Value;

    /// <summary>The member's invoker when it is built already, else null (never builds one: a
    /// held call must not compile). Cannot throw.</summary>
    public static Invoker? Built(int memberId) =>
        _cache.TryGetValue(memberId, out Lazy<Invoker>? lazy) && lazy.IsValueCreated ? lazy.Value : null;

    private static Invoker Build(MemberInfo member)
    {
        switch (member)
        {
            case MethodInfo m when m.ContainsGenericParameters:
                throw new InvalidOperationException(
                    $"{Signatures.Of(m)} is generic: give its type arguments, e.g. {m.Name}[System.Int32](...)");
            case MethodBase mb:
                return Compile(mb);
            case FieldInfo f:
                return FieldAccessor(f);
            case Type valueType:
                return new Invoker(Type.EmptyTypes, Array.Empty<ParameterInfo?>(), true, false,
                    (_, _) => New(valueType));
            default:
                throw new InvalidOperationException($"cannot call {member}");
        }
    }

    private static Invoker FieldAccessor(FieldInfo f)
    {
        // Field ids: called with no arguments it reads, with one it writes.
        Type[] types = { f.FieldType };
        if (f.IsLiteral)
        {
            object? constant = f.GetRawConstantValue();
            if (f.FieldType.IsEnum && constant != null) constant = Enum.ToObject(f.FieldType, constant);
            return new Invoker(types, new ParameterInfo?[1], false, false, (_, _) => constant) { IsField = true };
        }
        return new Invoker(types, new ParameterInfo?[1], false, false, (target, args) =>
        {
            if (args.Length == 0) return f.GetValue(target);
            if (f.IsInitOnly) throw new FieldAccessException($"{f.Name} is read-only");
            f.SetValue(target, args[0]);
            return null;
        }) { IsField = true };
    }

    /// <summary>The array type a <c>Span&lt;T&gt;</c> or <c>ReadOnlySpan&lt;T&gt;</c> parameter of a
    /// primitive <c>T</c> is passed as (<c>T[]</c>: a span cannot be boxed), or null for any other
    /// type. The call wraps the array in the span: .NET's view of it ends when the call returns,
    /// so the array (a copy .NET owns, made from the Python buffer) is all it ever sees.</summary>
    public static Type? SpanArray(Type t)
    {
        if (!t.IsGenericType || !t.IsByRefLike) return null;
        Type def = t.GetGenericTypeDefinition();
        if (def != typeof(Span<>) && def != typeof(ReadOnlySpan<>)) return null;
        Type element = t.GetGenericArguments()[0];
        return element.IsPrimitive ? element.MakeArrayType() : null;
    }

    private static Invoker Compile(MethodBase method)
    {
        ParameterInfo[] ps = method.GetParameters();
        Type[] types = ps.Select(p => SpanArray(p.ParameterType) ?? p.ParameterType).ToArray();
        bool isCtor = method is ConstructorInfo;
        bool returnsVoid = method is MethodInfo mi0 && mi0.ReturnType == typeof(void);
        Func<object?, object?[], object?> call;
        try
        {
            call = CompileExpression(method, ps);
        }
        catch (Exception) when (!ps.Any(p => SpanArray(p.ParameterType) != null))
        {
            // Rare shapes expression trees refuse: fall back to reflection, unwrapping its wrapper
            // (never for span parameters, which reflection cannot pass: the compile error stands).
            call = (target, args) =>
            {
                try { return method is ConstructorInfo c ? c.Invoke(args) : method.Invoke(target, args); }
                catch (TargetInvocationException e) when (e.InnerException != null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                    throw;
                }
            };
        }
        return new Invoker(types, ps.Cast<ParameterInfo?>().ToArray(), isCtor, returnsVoid, call);
    }

    private static Func<object?, object?[], object?> CompileExpression(MethodBase method, ParameterInfo[] ps)
    {
        ParameterExpression target = Expression.Parameter(typeof(object), "target");
        ParameterExpression args = Expression.Parameter(typeof(object?[]), "args");
        var locals = new List<ParameterExpression>();
        var body = new List<Expression>();
        var callArgs = new Expression[ps.Length];
        var writeBacks = new List<Expression>();
        for (int i = 0; i < ps.Length; i++)
        {
            Type pt = ps[i].ParameterType;
            Expression slot = Expression.ArrayAccess(args, Expression.Constant(i));
            if (pt.IsByRef)
            {
                Type et = pt.GetElementType()!;
                ParameterExpression local = Expression.Variable(et, ps[i].Name);
                locals.Add(local);
                body.Add(Expression.Assign(local, Expression.Convert(slot, et)));
                callArgs[i] = local;
                writeBacks.Add(Expression.Assign(slot, Expression.Convert(local, typeof(object))));
            }
            else if (SpanArray(pt) is Type array)
            {
                // new Span<T>((T[])args[i]): a null array is an empty span, as in C#
                callArgs[i] = Expression.New(pt.GetConstructor(new[] { array })!, Expression.Convert(slot, array));
            }
            else
            {
                callArgs[i] = Expression.Convert(slot, pt);
            }
        }

        Expression invoke;
        if (method is ConstructorInfo ctor)
        {
            invoke = Expression.New(ctor, callArgs);
        }
        else
        {
            var m = (MethodInfo)method;
            Expression? instance = null;
            if (!m.IsStatic)
            {
                Type owner = m.DeclaringType!;
                instance = owner.IsValueType ? Expression.Unbox(target, owner) : Expression.Convert(target, owner);
            }
            invoke = Expression.Call(instance, m, callArgs);
        }

        ParameterExpression result = Expression.Variable(typeof(object), "result");
        locals.Add(result);
        body.Add(invoke.Type == typeof(void)
            ? Expression.Block(invoke, Expression.Assign(result, Expression.Constant(null)))
            : Expression.Assign(result, Expression.Convert(invoke, typeof(object))));
        body.AddRange(writeBacks);
        body.Add(result);
        return Expression.Lambda<Func<object?, object?[], object?>>(Expression.Block(locals, body), target, args).Compile();
    }

    /// <summary>Drops the invokers of retired member ids (their types are being unloaded).</summary>
    public static void Forget(ISet<int> members)
    {
        foreach (int id in members) _cache.TryRemove(id, out _);
    }
}

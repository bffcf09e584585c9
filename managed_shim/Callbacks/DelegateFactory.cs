using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Linq.Expressions;
using System.Reflection;

namespace PyClrBridge.Shim;

/// <summary>
/// Makes a .NET delegate of any type that calls a Python callable. One factory per delegate
/// type, compiled once from an expression tree.
/// </summary>
internal static class DelegateFactory
{
    // Two levels: _factories holds only finished factories (read without a lock); building one
    // happens under _emitLock, which also serializes expression compilation.
    private static readonly ConcurrentDictionary<Type, Func<PyObjectRef, Delegate>> _factories = new();
    private static readonly object _emitLock = new();
    private static readonly MethodInfo _invoke = typeof(Callbacks).GetMethod(nameof(Callbacks.Invoke))
        ?? throw new MissingMethodException(nameof(Callbacks), nameof(Callbacks.Invoke));

    public static int Count => _factories.Count;

    /// <summary>Drops the factories of delegate types built from a type of <paramref name="dying"/> (<c>Func&lt;S&gt;</c>).</summary>
    public static void Forget(Assembly dying)
    {
        foreach (Type t in _factories.Keys)
            if (Collectibles.DependsOn(t, dying)) _factories.TryRemove(t, out _);
    }

    public static bool IsDelegateType(Type t) =>
        typeof(Delegate).IsAssignableFrom(t) && t != typeof(Delegate) && t != typeof(MulticastDelegate);

    public static Delegate Create(Type delegateType, PyObjectRef callable)
    {
        if (!_factories.TryGetValue(delegateType, out var factory))
        {
            // All-primitive signatures call a native thunk typed for their shape (no boxing).
            // Asked for outside the lock: the first delegate of a shape asks Python for it.
            IntPtr thunk = TypedCallbacks.ThunkFor(delegateType);
            lock (_emitLock)
            {
                if (!_factories.TryGetValue(delegateType, out factory))
                {
                    factory = thunk != IntPtr.Zero ? TypedCallbacks.Build(delegateType, thunk) : Build(delegateType);
                    _factories[delegateType] = factory;
                }
            }
        }
        return ThreadTops.Guard(factory(callable));
    }

    private static Func<PyObjectRef, Delegate> Build(Type delegateType)
    {
        if (delegateType.ContainsGenericParameters)
            throw new InvalidOperationException($"{Signatures.TypeName(delegateType)} needs type arguments");
        MethodInfo invoke = delegateType.GetMethod("Invoke")
            ?? throw new InvalidOperationException($"{delegateType} has no Invoke method");
        ParameterInfo[] ps = invoke.GetParameters();
        ParameterExpression callable = Expression.Parameter(typeof(PyObjectRef), "callable");
        ParameterExpression[] inner = ps.Select(p => Expression.Parameter(p.ParameterType, p.Name)).ToArray();
        Type[] byRefTypes = ps.Where(p => p.ParameterType.IsByRef).Select(p => p.ParameterType.GetElementType()!).ToArray();

        // Out parameters are results only: Python receives the other arguments and returns
        // (result, out values...).
        Expression[] boxed = ps.Select((p, i) => (p, i)).Where(x => !(x.p.IsOut && x.p.ParameterType.IsByRef))
            .Select(x => (Expression)Expression.Convert(inner[x.i], typeof(object))).ToArray();
        ParameterExpression results = Expression.Variable(typeof(object?[]), "results");
        var body = new List<Expression>
        {
            Expression.Assign(results, Expression.Call(_invoke, callable,
                Expression.NewArrayInit(typeof(object), boxed),
                Expression.Constant(invoke.ReturnType, typeof(Type)),
                Expression.Constant(byRefTypes))),
        };
        int k = 1;
        for (int i = 0; i < ps.Length; i++)
        {
            if (!ps[i].ParameterType.IsByRef) continue;
            Type et = ps[i].ParameterType.GetElementType()!;
            body.Add(Expression.Assign(inner[i],
                Expression.Convert(Expression.ArrayIndex(results, Expression.Constant(k++)), et)));
        }
        if (invoke.ReturnType != typeof(void))
            body.Add(Expression.Convert(Expression.ArrayIndex(results, Expression.Constant(0)), invoke.ReturnType));
        else
            body.Add(Expression.Empty());
        LambdaExpression lambda = Expression.Lambda(delegateType, Expression.Block(invoke.ReturnType, new[] { results }, body), inner);
        return Expression.Lambda<Func<PyObjectRef, Delegate>>(lambda, callable).Compile();
    }
}

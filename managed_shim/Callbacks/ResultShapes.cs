using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;

namespace PyClrBridge.Shim;

/// <summary>
/// Lossless conversions between constructed generic types that C# variance does not cover,
/// for values whose type Python could not state in advance: a callback's result when a type
/// argument was inferred as <c>object</c> (C# reads it from the lambda body, Python cannot).
/// <c>Task&lt;string&gt;</c> becomes a <c>Task&lt;object&gt;</c> that completes with the same result
/// (or fault, or cancellation); a <c>List&lt;int&gt;</c> becomes an <c>IEnumerable&lt;object&gt;</c>
/// over the same items (boxing each). Only when every item or result converts to the target
/// type argument by an identity, reference or boxing conversion: nothing is ever narrowed.
/// Stateless.
/// </summary>
internal static class ResultShapes
{
    private static readonly MethodInfo _castTask = typeof(ResultShapes).GetMethod(nameof(CastTask), BindingFlags.Static | BindingFlags.NonPublic)!;

    public static bool TryReshape(object o, Type target, out object? result)
    {
        result = null;
        if (!target.IsGenericType || target.ContainsGenericParameters) return false;
        Type def = target.GetGenericTypeDefinition();
        Type to = target.GetGenericArguments()[0];
        if (def == typeof(Task<>) && ResultOf(o.GetType()) is Type from && Widens(from, to))
        {
            result = _castTask.MakeGenericMethod(from, to).Invoke(null, BindingFlags.DoNotWrapExceptions, null, new[] { o }, null);
            return true;
        }
        if (def == typeof(IEnumerable<>) && ItemOf(o.GetType()) is Type item && Widens(item, to))
        {
            result = typeof(Enumerable).GetMethod(nameof(Enumerable.Cast))!.MakeGenericMethod(to)
                .Invoke(null, BindingFlags.DoNotWrapExceptions, null, new[] { o }, null);
            return true;
        }
        return false;
    }

    /// <summary>An identity, reference or boxing conversion from <paramref name="from"/> to <paramref name="to"/>.</summary>
    private static bool Widens(Type from, Type to) => to.IsAssignableFrom(from) && (!to.IsValueType || from == to);

    private static Type? ResultOf(Type t)
    {
        for (Type? c = t; c != null; c = c.BaseType)
            if (c.IsGenericType && c.GetGenericTypeDefinition() == typeof(Task<>)) return c.GetGenericArguments()[0];
        return null;
    }

    private static Type? ItemOf(Type t)
    {
        if (!typeof(IEnumerable).IsAssignableFrom(t)) return null;
        Type[] found = t.GetInterfaces().Append(t)
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            .Select(i => i.GetGenericArguments()[0]).Distinct().ToArray();
        return found.Length == 1 ? found[0] : null;  // several item types: not one lossless view
    }

    private static async Task<TTo> CastTask<TFrom, TTo>(Task<TFrom> task) where TFrom : TTo =>
        await task.ConfigureAwait(false);
}

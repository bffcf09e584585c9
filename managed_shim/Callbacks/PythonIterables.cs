using System;
using System.Collections;
using System.Collections.Generic;

namespace PyClrBridge.Shim;

/// <summary>
/// A Python iterable passed for an <c>IEnumerable&lt;T&gt;</c> (or <c>IEnumerable</c>) parameter,
/// read lazily: each <c>GetEnumerator</c> asks Python for a fresh <c>iter(obj).__next__</c>, and
/// each <c>MoveNext</c> calls it once (its <c>StopIteration</c> ends the sequence). So an infinite
/// iterator works with <c>Take</c>, and nothing is copied before the call.
/// A Python iterator is read by one enumerator at a time, as any <c>IEnumerator</c> is.
/// </summary>
public sealed class PythonIterable<T> : IEnumerable<T>
{
    private readonly Func<object?> _open;

    internal PythonIterable(PyObjectRef open) => _open = (Func<object?>)DelegateFactory.Create(typeof(Func<object?>), open);

    public IEnumerator<T> GetEnumerator()
    {
        if (_open() is not PyObjectRef next)
            throw new InvalidOperationException("the Python iterable gave no iterator");
        var pull = (Func<T>)DelegateFactory.Create(typeof(Func<T>), next);
        for (long index = 0; ; index++)
        {
            T item;
            try
            {
                item = pull();
            }
            catch (PythonException e) when (e.PythonType == "StopIteration")
            {
                yield break;
            }
            catch (InvalidCastException e)
            {
                throw new InvalidCastException($"item {index}: {e.Message}", e);  // the item, not the iterator, is wrong
            }
            yield return item;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"<lazy Python iterable of {Signatures.TypeName(typeof(T))}>";
}

internal static class PythonIterables
{
    /// <summary>The lazy sequence for <paramref name="target"/> (an <c>IEnumerable</c> or
    /// <c>IEnumerable&lt;T&gt;</c>), or null for any other type.</summary>
    public static object? For(Type target, PyObjectRef open)
    {
        Type? element = target == typeof(IEnumerable) ? typeof(object)
            : target.IsGenericType && target.GetGenericTypeDefinition() == typeof(IEnumerable<>) ? target.GetGenericArguments()[0]
            : null;
        if (element == null) return null;
        return Activator.CreateInstance(typeof(PythonIterable<>).MakeGenericType(element),
            System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, null, new object[] { open }, null);
    }
}

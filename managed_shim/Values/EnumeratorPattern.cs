using System;
using System.Reflection;

namespace PyClrBridge.Shim;

/// <summary>
/// C#'s <c>foreach</c> pattern (C# specification 13.9.5): a type is enumerable when it has a
/// public instance <c>GetEnumerator()</c> without parameters whose result has a public
/// <c>bool MoveNext()</c> and a readable public <c>Current</c>, whether or not it implements
/// <see cref="System.Collections.IEnumerable"/>. Nothing is cached here: the runtime caches
/// reflection lookups, and the type description (which asks once per type) is cached itself.
/// </summary>
internal sealed class EnumeratorPattern
{
    private const BindingFlags PublicInstance = BindingFlags.Public | BindingFlags.Instance;

    public MethodInfo GetEnumerator { get; }
    public MethodInfo MoveNext { get; }
    public MethodInfo Current { get; }

    private EnumeratorPattern(MethodInfo getEnumerator, MethodInfo moveNext, MethodInfo current)
    {
        GetEnumerator = getEnumerator;
        MoveNext = moveNext;
        Current = current;
    }

    /// <summary>The pattern's three members on <paramref name="t"/>, or null when it has not
    /// all of them in a shape Python can use: an enumerator or element that is a ref struct
    /// (<c>Span&lt;T&gt;.Enumerator</c>, <c>ref T Current</c>) cannot leave the stack, so such
    /// a type is not iterable from Python.</summary>
    public static EnumeratorPattern? Of(Type t)
    {
        if (t.ContainsGenericParameters || t.IsByRefLike || t.IsInterface || t.IsPointer || t.IsByRef) return null;
        MethodInfo? get;
        try { get = t.GetMethod("GetEnumerator", PublicInstance, Type.EmptyTypes); }
        catch (AmbiguousMatchException) { return null; }
        if (get == null || get.IsGenericMethodDefinition) return null;
        Type e = get.ReturnType;
        if (e == typeof(void) || e.IsByRef || e.IsByRefLike || e.IsPointer) return null;
        MethodInfo? move;
        PropertyInfo? current;
        try
        {
            move = e.GetMethod("MoveNext", PublicInstance, Type.EmptyTypes);
            current = e.GetProperty("Current", PublicInstance);
        }
        catch (AmbiguousMatchException) { return null; }
        if (move == null || move.ReturnType != typeof(bool)) return null;
        MethodInfo? read = current?.GetGetMethod();
        if (read == null || read.GetParameters().Length != 0) return null;
        Type item = read.ReturnType;
        if (item.IsByRef || item.IsByRefLike || item.IsPointer) return null;
        return new EnumeratorPattern(get, move, read);
    }

    /// <summary>Calls <paramref name="m"/> on <paramref name="target"/>; an exception it throws
    /// is thrown as itself (the bridge's own reflection call adds no wrapper). A boxed struct
    /// enumerator is advanced in its box, which the caller keeps.</summary>
    public static object? Call(MethodInfo m, object target) =>
        m.Invoke(target, BindingFlags.DoNotWrapExceptions, null, null, null);
}

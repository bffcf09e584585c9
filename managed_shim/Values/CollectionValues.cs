using System;
using System.Collections;
using System.Collections.Generic;

namespace PyClrBridge.Shim;

/// <summary>Python sequences, tuples and dicts (<see cref="ValueKind.List"/>, <see cref="ValueKind.Tuple"/>,
/// <see cref="ValueKind.Map"/>) as the .NET collection a parameter asks for; each item through
/// <see cref="Values.ToClr"/>.</summary>
internal static unsafe class CollectionValues
{
    internal static Type ElementTypeFor(Type target, out bool makeArray, out bool makeList)
    {
        makeArray = false; makeList = false;
        if (target.IsArray) { makeArray = true; return target.GetElementType()!; }
        if (target == typeof(object) || target == typeof(Array) || target == typeof(IEnumerable) || target == typeof(IList) || target == typeof(ICollection))
        { makeArray = true; return typeof(object); }
        if (target.IsGenericType)
        {
            Type def = target.GetGenericTypeDefinition();
            Type arg = target.GetGenericArguments()[0];
            if (def == typeof(List<>)) { makeList = true; return arg; }
            if (def == typeof(IEnumerable<>) || def == typeof(IReadOnlyList<>) || def == typeof(IReadOnlyCollection<>))
            { makeArray = true; return arg; }
            if (def == typeof(IList<>) || def == typeof(ICollection<>)) { makeList = true; return arg; }
            if (def == typeof(HashSet<>) || def == typeof(ISet<>)) { return arg; }
        }
        throw new InvalidCastException($"a Python sequence cannot become {target.FullName}");
    }

    private static readonly Type[] _valueTuples =
    {
        typeof(ValueTuple<>), typeof(ValueTuple<,>), typeof(ValueTuple<,,>), typeof(ValueTuple<,,,>),
        typeof(ValueTuple<,,,,>), typeof(ValueTuple<,,,,,>), typeof(ValueTuple<,,,,,,>), typeof(ValueTuple<,,,,,,,>),
    };

    /// <summary>A ValueTuple of the items (each as for an object parameter; typed by its runtime
    /// type, object for null), nested through TRest past seven items: Equals and GetHashCode by value.</summary>
    internal static object FromTuple(Value* items, int count)
    {
        var converted = new object?[count];
        for (int i = 0; i < count; i++) converted[i] = Values.ToClr(items[i], typeof(object));
        return MakeValueTuple(converted, 0);
    }

    private static object MakeValueTuple(object?[] items, int start)
    {
        int n = items.Length - start;
        if (n == 0) return new ValueTuple();
        int direct = Math.Min(n, 7);
        bool rest = n > 7;
        var args = new object?[rest ? 8 : direct];
        var types = new Type[args.Length];
        for (int i = 0; i < direct; i++)
        {
            args[i] = items[start + i];
            types[i] = args[i]?.GetType() ?? typeof(object);
        }
        if (rest)
        {
            args[7] = MakeValueTuple(items, start + 7);
            types[7] = args[7]!.GetType();
        }
        return Activator.CreateInstance(_valueTuples[args.Length - 1].MakeGenericType(types), args)!;
    }

    internal static object FromList(Value* items, int count, Type target)
    {
        if (target.IsArray && target.GetArrayRank() > 1) return FromNestedList(items, count, target);
        Type element = ElementTypeFor(target, out bool makeArray, out bool makeList);
        Array array = Array.CreateInstance(element, count);
        for (int i = 0; i < count; i++) array.SetValue(Values.ToClr(items[i], element), i);
        if (makeArray) return array;
        if (makeList) return Activator.CreateInstance(typeof(List<>).MakeGenericType(element), array)!;
        return Activator.CreateInstance(typeof(HashSet<>).MakeGenericType(element), array)!;
    }

    /// <summary>A rectangular T[,] (or higher rank) from nested Python sequences of equal length.</summary>
    private static Array FromNestedList(Value* items, int count, Type target)
    {
        int rank = target.GetArrayRank();
        Type element = target.GetElementType()!;
        var lengths = new int[rank];
        lengths[0] = count;
        Value* probe = items;
        for (int d = 1; d < rank; d++)
        {
            if (lengths[d - 1] == 0) break;
            if (probe[0].Kind is not (ValueKind.List or ValueKind.Tuple))
                throw new InvalidCastException($"a {rank}-dimensional array needs sequences nested {rank} deep");
            lengths[d] = probe[0].Extra;
            probe = (Value*)probe[0].Payload;
        }
        Array array = Array.CreateInstance(element, lengths);
        var index = new int[rank];
        Fill(items, count, 0);
        return array;

        void Fill(Value* level, int n, int depth)
        {
            if (n != lengths[depth])
                throw new ArgumentException($"a rectangular array needs rows of equal length: dimension {depth} has rows of {lengths[depth]} and {n} items");
            for (int i = 0; i < n; i++)
            {
                index[depth] = i;
                if (depth == rank - 1) { array.SetValue(Values.ToClr(level[i], element), index); continue; }
                if (level[i].Kind is not (ValueKind.List or ValueKind.Tuple))
                    throw new InvalidCastException($"a {rank}-dimensional array needs sequences nested {rank} deep");
                Fill((Value*)level[i].Payload, level[i].Extra, depth + 1);
            }
        }
    }

    internal static object FromMap(Value* items, int pairs, Type target)
    {
        Type key = typeof(object), value = typeof(object);
        if (target.IsGenericType)
        {
            Type def = target.GetGenericTypeDefinition();
            if (def == typeof(Dictionary<,>) || def == typeof(IDictionary<,>) || def == typeof(IReadOnlyDictionary<,>))
            {
                Type[] args = target.GetGenericArguments();
                key = args[0]; value = args[1];
            }
            else if (PairSequence(target) is Type pair)
                return FromPairs(items, pairs, pair);
            else throw new InvalidCastException($"a Python dict cannot become {target.FullName}");
        }
        else if (target != typeof(object) && target != typeof(IDictionary))
            throw new InvalidCastException($"a Python dict cannot become {target.FullName}");
        var dict = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(key, value))!;
        for (int i = 0; i < pairs; i++)
            dict[Values.ToClr(items[2 * i], key)!] = Values.ToClr(items[2 * i + 1], value);
        return dict;
    }

    /// <summary>The <c>KeyValuePair&lt;K, V&gt;</c> type of a sequence of pairs a Python dict fills
    /// (<c>IEnumerable&lt;KeyValuePair&lt;K, V&gt;&gt;</c>, <c>ICollection</c>, <c>IList</c>, their read-only
    /// forms, <c>List</c>), or null.</summary>
    private static Type? PairSequence(Type target)
    {
        Type def = target.GetGenericTypeDefinition();
        if (def != typeof(IEnumerable<>) && def != typeof(ICollection<>) && def != typeof(IReadOnlyCollection<>)
            && def != typeof(IList<>) && def != typeof(IReadOnlyList<>) && def != typeof(List<>))
            return null;
        Type pair = target.GetGenericArguments()[0];
        return pair.IsGenericType && pair.GetGenericTypeDefinition() == typeof(KeyValuePair<,>) ? pair : null;
    }

    /// <summary>A dict's items as a <c>List&lt;KeyValuePair&lt;K, V&gt;&gt;</c>, in the dict's order
    /// (which a .NET dictionary would not promise).</summary>
    private static object FromPairs(Value* items, int pairs, Type pair)
    {
        Type[] kv = pair.GetGenericArguments();
        var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(pair), pairs)!;
        for (int i = 0; i < pairs; i++)
            list.Add(Activator.CreateInstance(pair, Values.ToClr(items[2 * i], kv[0]), Values.ToClr(items[2 * i + 1], kv[1])));
        return list;
    }
}

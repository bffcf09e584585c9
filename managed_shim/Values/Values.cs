using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>What a <see cref="Value"/> carries. Mirrored by <c>pyclrbridge/_shim.py</c>.</summary>
public enum ValueKind : int
{
    Null = 0,
    Bool = 1,
    Int64 = 2,
    Double = 3,
    String = 4,     // Payload: UTF-16 pointer; Extra: length in code units
    Object = 5,     // Payload: GCHandle owned by the receiver; Extra: type id of the runtime type
    PyObject = 6,   // Payload: id of a Python object in the Python-side registry
    UInt64 = 7,
    Void = 8,
    Enum = 9,       // Payload: underlying integer value; Extra: type id of the enum
    Char = 10,      // Payload: UTF-16 code unit
    Decimal = 11,   // Payload: UTF-16 pointer to invariant text; Extra: length
    Bytes = 12,     // Payload: pointer to bytes; Extra: length
    List = 13,      // Payload: pointer to Value[]; Extra: count (a Python sequence)
    Map = 14,       // Payload: pointer to Value[] of alternating key, value; Extra: pair count
    Type = 15,      // Payload: unused; Extra: type id (a System.Type passed by identity)
    Buffer = 16,    // Payload: pointer to packed primitive elements; Extra: element count
    Missing = 17,   // an omitted optional argument: the parameter's default is used
    DateTime = 18,  // Payload: ticks; Extra: DateTimeKind (0 unspecified, 1 UTC, 2 local)
    TimeSpan = 19,  // Payload: ticks
    Guid = 20,      // Payload: pointer to the 16 bytes of Guid.ToByteArray() order
    BytesOut = 30,   // as Bytes, in Python memory .NET may write: the array is copied back after the call
    BufferOut = 31,  // as Buffer, the same way (array.array, a writable typed memoryview)
    LazyIterable = 21,  // Payload: id of a Python callable giving iter(obj).__next__ (for IEnumerable parameters)
    Tuple = 22,     // as List, from a Python tuple: a ValueTuple of its items where object or ITuple is asked for
}

/// <summary>The one value struct that crosses the boundary: 16 bytes, no references.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Value
{
    public long Payload;
    public ValueKind Kind;
    public int Extra;
}

/// <summary>
/// Per-thread native scratch memory for strings handed to Python. The Python caller reads
/// every string of a result before it makes its next call on the same thread, so the arena is
/// reset each time a result is written. Thread-static, so no lock.
/// </summary>
internal static unsafe class Arena
{
    [ThreadStatic] private static char* _buffer;
    [ThreadStatic] private static int _capacity;
    [ThreadStatic] private static int _used;

    // Python objects of the result being written: alive until the caller has read it (its
    // registry id must not be released before Python looks it up). Thread-static, no lock.
    [ThreadStatic] private static List<PyObjectRef>? _held;

    public static void Reset()
    {
        _used = 0;
        List<PyObjectRef>? held = _held;
        if (held != null && held.Count != 0) held.Clear();
    }

    public static void Hold(PyObjectRef o) => (_held ??= new List<PyObjectRef>()).Add(o);

    public static char* Store(string s)
    {
        char* dst = Reserve(s.Length + 1);
        s.AsSpan().CopyTo(new Span<char>(dst, s.Length));
        dst[s.Length] = '\0';
        return dst;
    }

    /// <summary>Stores <paramref name="s"/> after an int64 holding its length (4 chars); returns
    /// the address of the length.</summary>
    public static char* StoreCounted(string s)
    {
        char* dst = Reserve(4 + s.Length + 1);
        *(long*)dst = s.Length;
        s.AsSpan().CopyTo(new Span<char>(dst + 4, s.Length));
        dst[4 + s.Length] = '\0';
        return dst;
    }

    private static char* Reserve(int count)
    {
        int need = _used + count;
        if (need > _capacity)
        {
            // Growing moves the buffer; strings already handed out in this result stay valid
            // because the old block is kept until the thread's next reset (leaked once per growth).
            int cap = Math.Max(need * 2, 256);
            char* fresh = (char*)NativeMemory.Alloc((nuint)cap, sizeof(char));
            _buffer = fresh;
            _capacity = cap;
            _used = 0;
            need = count;
        }
        char* dst = _buffer + _used;
        _used = need;
        return dst;
    }
}

/// <summary>Converts between <see cref="Value"/> and .NET objects.</summary>
internal static unsafe class Values
{
    public static void SetString(Value* v, string s, ValueKind kind = ValueKind.String)
    {
        v->Kind = kind;
        v->Payload = (long)Arena.Store(s);
        v->Extra = s.Length;
    }

    /// <summary>Writes a .NET result for Python. Strings go to the arena, objects to a new handle.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call (see docs/performance.md)
    public static void FromClr(object? o, Value* v)
    {
        v->Extra = 0;
        switch (o)
        {
            case null: v->Kind = ValueKind.Null; v->Payload = 0; return;
            case string s: SetString(v, s); return;
            case bool b: v->Kind = ValueKind.Bool; v->Payload = b ? 1 : 0; return;
            case int i: v->Kind = ValueKind.Int64; v->Payload = i; return;
            case long l: v->Kind = ValueKind.Int64; v->Payload = l; return;
            case double d: v->Kind = ValueKind.Double; v->Payload = BitConverter.DoubleToInt64Bits(d); return;
            case Enum e:
                v->Kind = ValueKind.Enum;
                v->Payload = EnumToInt64(e);
                v->Extra = TypeCatalog.IdOf(e.GetType());
                return;
            case short s16: v->Kind = ValueKind.Int64; v->Payload = s16; return;
            case byte u8: v->Kind = ValueKind.Int64; v->Payload = u8; return;
            case sbyte i8: v->Kind = ValueKind.Int64; v->Payload = i8; return;
            case ushort u16: v->Kind = ValueKind.Int64; v->Payload = u16; return;
            case uint u32: v->Kind = ValueKind.Int64; v->Payload = u32; return;
            case ulong u64:
                v->Kind = u64 > long.MaxValue ? ValueKind.UInt64 : ValueKind.Int64;
                v->Payload = unchecked((long)u64);
                return;
            case float f: v->Kind = ValueKind.Double; v->Payload = BitConverter.DoubleToInt64Bits(f); return;
            case char c: v->Kind = ValueKind.Char; v->Payload = c; return;
            case decimal m: SetString(v, m.ToString(CultureInfo.InvariantCulture), ValueKind.Decimal); return;
            case PyObjectRef py:  // back to Python as the same object
                v->Kind = ValueKind.PyObject;
                v->Payload = py.Id;
                Arena.Hold(py);
                return;
            default:
                v->Kind = ValueKind.Object;
                v->Payload = Handles.Alloc(o);
                v->Extra = TypeCatalog.IdOf(o.GetType());
                return;
        }
    }

    private static long EnumToInt64(Enum e)
    {
        return Type.GetTypeCode(Enum.GetUnderlyingType(e.GetType())) switch
        {
            TypeCode.UInt64 => unchecked((long)Convert.ToUInt64(e, CultureInfo.InvariantCulture)),
            _ => Convert.ToInt64(e, CultureInfo.InvariantCulture),
        };
    }

    public static string ReadString(in Value v) => new string((char*)v.Payload, 0, v.Extra);

    /// <summary>
    /// Converts a Python-sent value to <paramref name="target"/>. Python's binder already chose the
    /// overload and range-checked numbers; this only narrows and builds.
    /// </summary>
    /// <remarks><paramref name="strictBool"/>: an integer or float is refused for a Boolean (a field
    /// or property set, whose Python side does not know the type); callback results keep Python's truth.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call (see docs/performance.md)
    public static object? ToClr(in Value v, Type target, bool cast = false, bool strictBool = false)
    {
        if (target.IsByRef) target = target.GetElementType()!;
        Type? nullable = Nullable.GetUnderlyingType(target);
        if (nullable != null)
        {
            if (v.Kind == ValueKind.Null) return null;
            target = nullable;
        }
        switch (v.Kind)
        {
            case ValueKind.Null:
                if (target.IsValueType)
                    throw new InvalidCastException($"null cannot be converted to the value type {target.FullName}");
                return null;
            case ValueKind.Object:
                return Coerce(Handles.Target(v.Payload), target);
            case ValueKind.PyObject:
                return PyObjects.ToClr(v.Payload, target);
            case ValueKind.LazyIterable:
                return PyObjects.LazyToClr(v.Payload, target);
            case ValueKind.String:
                {
                    string s = ReadString(v);
                    if (target == typeof(char)) return s.Length == 1 ? s[0] : throw new InvalidCastException($"a string of length {s.Length} is not a Char");
                    if (target == typeof(Guid)) return Guid.Parse(s);
                    // A call never parses text into a number (only an explicit cast does: System.Int32("5")).
                    if (!cast && (target.IsPrimitive || target == typeof(decimal)))
                        throw new InvalidCastException($"a str cannot be passed as {target.FullName} (parse it first)");
                    return Coerce(s, target);
                }
            case ValueKind.Decimal:
                return Coerce(decimal.Parse(ReadString(v), NumberStyles.Float, CultureInfo.InvariantCulture), target);
            case ValueKind.Bool:
                return Coerce(v.Payload != 0, target);
            case ValueKind.Char:
                return Coerce((char)v.Payload, target);
            case ValueKind.Int64:
                if (strictBool && !cast && target == typeof(bool)) throw NotABool("an int");
                if (target == typeof(DateTime)) return new DateTime(v.Payload);
                if (target == typeof(TimeSpan)) return new TimeSpan(v.Payload);
                // Where no integer type is asked for (object, IComparable...), a Python int is an
                // Int32 when it fits, as a C# literal would be.
                if (!target.IsPrimitive && target != typeof(decimal) && !target.IsEnum
                    && v.Payload >= int.MinValue && v.Payload <= int.MaxValue)
                    return Coerce((int)v.Payload, target);
                return Coerce(v.Payload, target);
            case ValueKind.UInt64:
                if (strictBool && !cast && target == typeof(bool)) throw NotABool("an int");
                return Coerce(unchecked((ulong)v.Payload), target);
            case ValueKind.Double:
                {
                    double d = BitConverter.Int64BitsToDouble(v.Payload);
                    if (strictBool && !cast && target == typeof(bool)) throw NotABool("a float");
                    // A call never rounds a float into an integer (only an explicit cast does).
                    if (!cast && target.IsPrimitive && target != typeof(double) && target != typeof(float)
                        && target != typeof(bool) && target != typeof(char))
                        throw new InvalidCastException($"a float cannot be passed as {target.FullName} without rounding");
                    return Coerce(d, target);
                }
            case ValueKind.Enum:
                return Coerce(Enum.ToObject(TypeCatalog.TypeOf(v.Extra), v.Payload), target);
            case ValueKind.Type:
                return TypeCatalog.TypeOf(v.Extra);
            case ValueKind.DateTime:
                return Coerce(new DateTime(v.Payload, (DateTimeKind)v.Extra), target);
            case ValueKind.TimeSpan:
                return Coerce(new TimeSpan(v.Payload), target);
            case ValueKind.Guid:
                return Coerce(new Guid(new ReadOnlySpan<byte>((void*)v.Payload, 16)), target);
            case ValueKind.Bytes:
            case ValueKind.BytesOut:
                {
                    byte[] bytes = new byte[v.Extra];
                    if (v.Extra > 0) Marshal.Copy((IntPtr)v.Payload, bytes, 0, v.Extra);
                    if (v.Kind == ValueKind.BytesOut) Lent(bytes, v.Payload);
                    return Coerce(bytes, target);
                }
            case ValueKind.Buffer:
            case ValueKind.BufferOut:
                return FromBuffer(v, target);
            case ValueKind.Tuple:
                // A key must compare by value, as the Python tuple does: an object[] would not.
                if (target == typeof(object) || target == typeof(System.Runtime.CompilerServices.ITuple)
                    || target == typeof(IStructuralEquatable) || target == typeof(ValueType))
                    return FromTuple((Value*)v.Payload, v.Extra);
                return FromList((Value*)v.Payload, v.Extra, target);
            case ValueKind.List:
                return FromList((Value*)v.Payload, v.Extra, target);
            case ValueKind.Map:
                return FromMap((Value*)v.Payload, v.Extra, target);
            default:
                throw new ArgumentException($"unknown value kind {(int)v.Kind}");
        }
    }

    private static InvalidCastException NotABool(string what) =>
        new($"{what} cannot be stored as System.Boolean (pass True or False, e.g. bool(n))");

    /// <summary>Numeric narrowing and the few conversions a C# compiler would insert. Every
    /// path ends here (arguments, fields, properties, array elements, indexers, callback results),
    /// so the range checks here are the ones nothing can bypass: an integer for an enum against
    /// the enum's underlying type, a double for a Single against Single's range. Never wrapped.</summary>
    private static object? Coerce(object? o, Type target)
    {
        if (o == null || target.IsInstanceOfType(o)) return o;
        if (target.IsEnum) return ToEnum(o, target);
        if (target == typeof(float) && o is double d && double.IsFinite(d) && Math.Abs(d) > float.MaxValue)
            throw new OverflowException(string.Format(CultureInfo.InvariantCulture,
                "{0:R} is out of range for System.Single (±{1:R})", d, (double)float.MaxValue));
        if (o is IConvertible && (target.IsPrimitive || target == typeof(decimal)))
        {
            if (o is char ch && target != typeof(char)) o = (int)ch;
            try
            {
                return Convert.ChangeType(o, target, CultureInfo.InvariantCulture);
            }
            catch (OverflowException) when (target.GetField("MinValue") is { } min && target.GetField("MaxValue") is { } max)
            {
                throw new OverflowException(string.Format(CultureInfo.InvariantCulture, "{0} is out of range for {1} ({2} to {3})",
                    o, target.FullName, min.GetValue(null), max.GetValue(null)));
            }
        }
        if (o is long ticks && target == typeof(DateTime)) return new DateTime(ticks);
        if (o is long span && target == typeof(TimeSpan)) return new TimeSpan(span);
        var op = Conversions.Find(o.GetType(), target);
        if (op != null) return op.Invoke(null, System.Reflection.BindingFlags.DoNotWrapExceptions, null, new[] { o }, null);
        if (ResultShapes.TryReshape(o, target, out object? reshaped)) return reshaped;  // Task<string> as Task<object>...
        throw new InvalidCastException($"cannot convert {o.GetType().FullName} to {target.FullName}");
    }

    /// <summary>An integer as <paramref name="target"/>: checked against its underlying type.</summary>
    private static object ToEnum(object o, Type target)
    {
        if (o is long or ulong or int or uint or short or ushort or byte or sbyte)
        {
            Type underlying = Enum.GetUnderlyingType(target);
            object exact;
            try
            {
                exact = Convert.ChangeType(o, underlying, CultureInfo.InvariantCulture);
            }
            catch (OverflowException)
            {
                throw new OverflowException(string.Format(CultureInfo.InvariantCulture, "{0} is out of range for {1} (a {2}: {3} to {4})",
                    o, target.FullName, underlying.FullName, underlying.GetField("MinValue")!.GetValue(null),
                    underlying.GetField("MaxValue")!.GetValue(null)));
            }
            return Enum.ToObject(target, exact);
        }
        if (o is Enum or bool) return Enum.ToObject(target, o);
        // Enum.ToObject would throw a bare ArgumentException for text or a float: a TypeError instead.
        string example = Enum.GetNames(target) is [var name, ..] ? $"{target.Name}.{name} or " : "";
        throw new InvalidCastException(string.Format(CultureInfo.InvariantCulture,
            "cannot store {0} {1} as the enum {2}: give {3}an integer", o.GetType().FullName,
            o is string text ? $"'{text}'" : o, target.FullName, example));
    }

    private static Type ElementTypeFor(Type target, out bool makeArray, out bool makeList)
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
    private static object FromTuple(Value* items, int count)
    {
        var converted = new object?[count];
        for (int i = 0; i < count; i++) converted[i] = ToClr(items[i], typeof(object));
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

    private static object FromList(Value* items, int count, Type target)
    {
        if (target.IsArray && target.GetArrayRank() > 1) return FromNestedList(items, count, target);
        Type element = ElementTypeFor(target, out bool makeArray, out bool makeList);
        Array array = Array.CreateInstance(element, count);
        for (int i = 0; i < count; i++) array.SetValue(ToClr(items[i], element), i);
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
                if (depth == rank - 1) { array.SetValue(ToClr(level[i], element), index); continue; }
                if (level[i].Kind is not (ValueKind.List or ValueKind.Tuple))
                    throw new InvalidCastException($"a {rank}-dimensional array needs sequences nested {rank} deep");
                Fill((Value*)level[i].Payload, level[i].Extra, depth + 1);
            }
        }
    }

    /// <summary>After a call: what .NET wrote into the array made from a BytesOut/BufferOut
    /// argument goes back into the Python memory it came from (Stream.Read into a bytearray).</summary>
    public static void CopyBack(in Value v, object? converted)
    {
        if (TakeLent(v, converted) is Array array) CopyInto(array, v.Payload);
    }

    /// <summary>The array made from the BytesOut/BufferOut argument <paramref name="v"/>, when
    /// <paramref name="converted"/> is still that very array (then it is no longer lent: its
    /// writes are to be copied back once, by the caller); null otherwise.</summary>
    public static Array? TakeLent(in Value v, object? converted)
    {
        if (v.Kind != ValueKind.BytesOut && v.Kind != ValueKind.BufferOut) return null;
        // A byte[] made from the buffer may reach the method wrapped (Memory<byte>, ArraySegment<byte>).
        Array? array = converted switch
        {
            Array a => a,
            Memory<byte> m when MemoryMarshal.TryGetArray<byte>(m, out ArraySegment<byte> segment) => segment.Array,
            ReadOnlyMemory<byte> m when MemoryMarshal.TryGetArray(m, out ArraySegment<byte> segment) => segment.Array,
            ArraySegment<byte> segment => segment.Array,
            _ => null,
        };
        if (array == null || array.Rank != 1 || array.Length != v.Extra || v.Extra == 0) return null;
        if (!_lent.TryGetValue(array, out StrongBox<long>? from) || from.Value != v.Payload) return null;
        _lent.Remove(array);
        return array.GetType().GetElementType()!.IsPrimitive ? array : null;
    }

    /// <summary>Copies a primitive array over the Python memory at <paramref name="address"/>
    /// (the buffer the array was made from, of the same byte length).</summary>
    public static void CopyInto(Array array, long address)
    {
        long bytes = Buffer.ByteLength(array);
        GCHandle pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        try
        {
            Buffer.MemoryCopy((void*)pin.AddrOfPinnedObject(), (void*)address, bytes, bytes);
        }
        finally { pin.Free(); }
    }

    private static object FromBuffer(in Value v, Type target)
    {
        Type element = ElementTypeFor(target, out bool makeArray, out bool makeList);
        Array array = Array.CreateInstance(element, v.Extra);
        if (v.Extra > 0)
        {
            long bytes = Buffer.ByteLength(array); // throws for non-primitive elements
            GCHandle pin = GCHandle.Alloc(array, GCHandleType.Pinned);
            try
            {
                Buffer.MemoryCopy((void*)v.Payload, (void*)pin.AddrOfPinnedObject(), bytes, bytes);
            }
            finally { pin.Free(); }
        }
        if (makeArray)
        {
            if (v.Kind == ValueKind.BufferOut) Lent(array, v.Payload);
            return array;
        }
        if (makeList) return Activator.CreateInstance(typeof(List<>).MakeGenericType(element), array)!;
        return Activator.CreateInstance(typeof(HashSet<>).MakeGenericType(element), array)!;
    }

    /// <summary>Arrays made from a writable Python buffer -> that buffer's address. CopyBack
    /// copies an argument back only when it is still the very array made from the caller's
    /// buffer: a <c>ref</c> parameter .NET pointed at another array leaves the buffer as it was
    /// (the new array comes back as the ref result). A ConditionalWeakTable: thread-safe, and an
    /// entry dies with its array.</summary>
    private static readonly ConditionalWeakTable<Array, StrongBox<long>> _lent = new();

    private static void Lent(Array array, long address) => _lent.AddOrUpdate(array, new StrongBox<long>(address));

    private static object FromMap(Value* items, int pairs, Type target)
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
            dict[ToClr(items[2 * i], key)!] = ToClr(items[2 * i + 1], value);
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
            list.Add(Activator.CreateInstance(pair, ToClr(items[2 * i], kv[0]), ToClr(items[2 * i + 1], kv[1])));
        return list;
    }
}

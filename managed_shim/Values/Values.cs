using System;
using System.Collections;
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
    Target = 23,    // a result that is the call's target object itself (only when asked: Exports.SelfResult)
}

/// <summary>The one value struct that crosses the boundary: 16 bytes, no references.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Value
{
    public long Payload;
    public ValueKind Kind;
    public int Extra;
}

/// <summary>Converts between <see cref="Value"/> and .NET objects: results for Python
/// (<see cref="FromClr"/>) and Python-sent values (<see cref="ToClr"/>, scalars here; collections in
/// <see cref="CollectionValues"/>, buffers in <see cref="BufferValues"/>).</summary>
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
                v->Extra = Unsent.HeldResult;  // held by py: a walk for unsent ids skips it
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
                    if (v.Kind == ValueKind.BytesOut) BufferValues.Lent(bytes, v.Payload);
                    return Coerce(bytes, target);
                }
            case ValueKind.Buffer:
            case ValueKind.BufferOut:
                return BufferValues.FromBuffer(v, target);
            case ValueKind.Tuple:
                // A key must compare by value, as the Python tuple does: an object[] would not.
                if (target == typeof(object) || target == typeof(System.Runtime.CompilerServices.ITuple)
                    || target == typeof(IStructuralEquatable) || target == typeof(ValueType))
                    return CollectionValues.FromTuple((Value*)v.Payload, v.Extra);
                return CollectionValues.FromList((Value*)v.Payload, v.Extra, target);
            case ValueKind.List:
                return CollectionValues.FromList((Value*)v.Payload, v.Extra, target);
            case ValueKind.Map:
                return CollectionValues.FromMap((Value*)v.Payload, v.Extra, target);
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
}

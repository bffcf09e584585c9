using System;
using System.Buffers;
using System.Text;
using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// The accessors of <see cref="NativeMembers"/>: each property or field compiled (an expression
/// tree) into a getter and a setter of one value kind, and the conversions between .NET and
/// Python values of that kind that the slots make with the GIL held.
/// </summary>
internal static unsafe partial class NativeMembers
{
    // ---- accessors ------------------------------------------------------------------------

    /// <summary>A compiled getter or setter and how it converts. <see cref="Read"/> returns a new
    /// reference (NULL with an error set); <see cref="Write"/> returns 0 (written), 1 (the
    /// value is not one it takes: the Python descriptor converts it) or -1 (error set).</summary>
    internal abstract class Accessor
    {
        public bool Virtual;
        // Whether the compiled accessor releases the GIL around the .NET call (the GIL policy
        // did not prove it leaf): then no leaf check per type, and the gate must be open.
        public bool Releases;
        public int MemberId;
        // The last exact types a virtual accessor was found leaf / not leaf on: one reference
        // each, read and written atomically (a lost race only repeats the memoized check).
        private Type? _leafType, _refusedType;

        public virtual IntPtr Read(object? target) => throw new NotSupportedException();
        public virtual int Write(object? target, IntPtr value) => 1;

        /// <summary>Runs the compiled accessor once without touching anything (compiles it).</summary>
        public abstract void DryRun();

        public bool LeafFor(Type exact)
        {
            if (ReferenceEquals(Volatile.Read(ref _leafType), exact)) return true;
            if (ReferenceEquals(Volatile.Read(ref _refusedType), exact)) return false;
            // The proof may run class constructors and compile: never with the GIL held. The
            // slot's own references (the descriptor, the proxy, the target) stay valid meanwhile.
            // Through Releasing, so a proof that ends after the interpreter began to exit parks
            // the thread instead of taking the GIL back under this frame.
            IntPtr state = Shim.Releasing.Release();
            bool leaf;
            try { leaf = LeafOn(MemberId, TypeCatalog.IdOf(exact)); }
            finally { Shim.Releasing.Reacquire(state); }
            if (leaf) Volatile.Write(ref _leafType, exact);
            else Volatile.Write(ref _refusedType, exact);
            return leaf;
        }

        private static Expression? Instance(ParameterExpression self, Type owner, bool isStatic) =>
            isStatic ? null : Expression.Convert(self, owner);

        public static Accessor? Reader(MemberInfo member, Type owner, bool isStatic, Kind kind, Type valueType, int id, bool release)
        {
            ParameterExpression self = Expression.Parameter(typeof(object), "self");
            Expression? instance = Instance(self, owner, isStatic);
            Expression read = member switch
            {
                MethodInfo m => Expression.Call(instance, m),
                FieldInfo f => Expression.Field(instance, f),
                _ => throw new ArgumentException(member.ToString()),
            };
            ParameterExpression dry = Expression.Parameter(typeof(bool), "dry");
            Expression Body(Type t) => Expression.Condition(dry, Expression.Default(t),
                Releasing(read.Type == t ? read : Expression.Convert(read, t), release));
            Accessor a = kind switch
            {
                Kind.Signed => new SignedAccessor { Get = Lambda<Func<object?, bool, long>>(Body(typeof(long)), self, dry) },
                Kind.UInt64 => new UInt64Accessor { Get = Lambda<Func<object?, bool, ulong>>(Body(typeof(ulong)), self, dry) },
                Kind.Bool => new BoolAccessor { Get = Lambda<Func<object?, bool, bool>>(Body(typeof(bool)), self, dry) },
                Kind.Double or Kind.Single => new DoubleAccessor { Get = Lambda<Func<object?, bool, double>>(Body(typeof(double)), self, dry) },
                Kind.String => new StringAccessor { Get = Lambda<Func<object?, bool, string?>>(Body(typeof(string)), self, dry) },
                Kind.Char => new CharAccessor { Get = Lambda<Func<object?, bool, char>>(Body(typeof(char)), self, dry) },
                _ => throw new ArgumentException(kind.ToString()),
            };
            a.MemberId = id;
            a.Virtual = member is MethodInfo { IsVirtual: true, IsFinal: false } && !owner.IsSealed;
            a.Releases = release;
            return a;
        }

        public static Accessor? Writer(MemberInfo member, Type owner, bool isStatic, Kind kind, Type valueType, int id, bool release)
        {
            ParameterExpression self = Expression.Parameter(typeof(object), "self");
            Expression? instance = Instance(self, owner, isStatic);
            Type native = kind switch
            {
                Kind.Signed => typeof(long), Kind.Bool => typeof(bool), Kind.Double => typeof(double), _ => typeof(string),
            };
            ParameterExpression v = Expression.Parameter(native, "value");
            Expression converted = native == valueType ? v : Expression.Convert(v, valueType);
            Expression write = member switch
            {
                MethodInfo m => Expression.Call(instance, m, converted),
                FieldInfo f => Expression.Assign(Expression.Field(instance, f), converted),
                _ => throw new ArgumentException(member.ToString()),
            };
            ParameterExpression dry = Expression.Parameter(typeof(bool), "dry");
            Expression body = Expression.IfThen(Expression.Not(dry), Releasing(write, release));
            Accessor a = kind switch
            {
                Kind.Signed => new SignedAccessor { Set = Lambda<Action<object?, long, bool>>(body, self, v, dry), Range = RangeOf(valueType) },
                Kind.Bool => new BoolAccessor { Set = Lambda<Action<object?, bool, bool>>(body, self, v, dry) },
                Kind.Double => new DoubleAccessor { Set = Lambda<Action<object?, double, bool>>(body, self, v, dry) },
                Kind.String => new StringAccessor { Set = Lambda<Action<object?, string?, bool>>(body, self, v, dry) },
                _ => throw new ArgumentException(kind.ToString()),
            };
            a.MemberId = id;
            a.Virtual = member is MethodInfo { IsVirtual: true, IsFinal: false } && !owner.IsSealed;
            a.Releases = release;
            return a;
        }

        /// <summary><paramref name="call"/> itself, or (<paramref name="release"/>) with the GIL
        /// released around it: <c>state = Release(); try { call } finally { Reacquire(state); }</c>.
        /// Only the .NET call runs released; an exception it throws reaches the slot's handler
        /// after the finally took the GIL back. Never on a dry run (which runs without the GIL).</summary>
        private static Expression Releasing(Expression call, bool release)
        {
            if (!release) return call;
            ParameterExpression state = Expression.Variable(typeof(IntPtr), "state");
            return Expression.Block(call.Type, new[] { state },
                Expression.Assign(state, Expression.Call(typeof(Shim.Releasing).GetMethod(nameof(Shim.Releasing.Release))!)),
                Expression.TryFinally(call,
                    Expression.Call(typeof(Shim.Releasing).GetMethod(nameof(Shim.Releasing.Reacquire))!, state)));
        }

        private static T Lambda<T>(Expression body, params ParameterExpression[] parameters) where T : Delegate =>
            Expression.Lambda<T>(body, parameters).Compile();

        internal static (long Min, long Max) RangeOf(Type t) =>
            t == typeof(int) ? (int.MinValue, int.MaxValue)
            : t == typeof(long) ? (long.MinValue, long.MaxValue)
            : t == typeof(short) ? (short.MinValue, short.MaxValue)
            : t == typeof(sbyte) ? (sbyte.MinValue, sbyte.MaxValue)
            : t == typeof(byte) ? (byte.MinValue, byte.MaxValue)
            : t == typeof(ushort) ? (ushort.MinValue, ushort.MaxValue)
            : t == typeof(uint) ? (uint.MinValue, uint.MaxValue)
            : (1, 0);  // takes nothing: the Python descriptor converts
    }

    private sealed class SignedAccessor : Accessor
    {
        public override void DryRun() { Get?.Invoke(null, true); Set?.Invoke(null, 0, true); }

        public Func<object?, bool, long>? Get;
        public Action<object?, long, bool>? Set;
        public (long Min, long Max) Range;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call

        public override IntPtr Read(object? target) => PyApi.PyLong_FromLongLong(Get!(target, false));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]

        public override int Write(object? target, IntPtr value)
        {
            if (PyApi.TypeOf(value) != PyApi.IntType) return 1;  // exactly int (bool is not)
            int overflow;
            long v = PyApi.PyLong_AsLongLongAndOverflow(value, &overflow);
            if (overflow != 0 || v < Range.Min || v > Range.Max) return 1;  // the Python path says why
            if (v == -1 && PyApi.PyErr_Occurred() != IntPtr.Zero) return -1;
            Set!(target, v, false);
            return 0;
        }
    }

    private sealed class UInt64Accessor : Accessor
    {
        public override void DryRun() { Get?.Invoke(null, true); }

        public Func<object?, bool, ulong>? Get;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call

        public override IntPtr Read(object? target) => PyApi.PyLong_FromUnsignedLongLong(Get!(target, false));
    }

    private sealed class BoolAccessor : Accessor
    {
        public override void DryRun() { Get?.Invoke(null, true); Set?.Invoke(null, false, true); }

        public Func<object?, bool, bool>? Get;
        public Action<object?, bool, bool>? Set;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call

        public override IntPtr Read(object? target) => PyApi.PyBool_FromLong(new CLong(Get!(target, false) ? 1 : 0));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]

        public override int Write(object? target, IntPtr value)
        {
            if (PyApi.TypeOf(value) != PyApi.BoolType) return 1;
            int truth = PyApi.PyObject_IsTrue(value);
            if (truth < 0) return -1;
            Set!(target, truth != 0, false);
            return 0;
        }
    }

    private sealed class DoubleAccessor : Accessor
    {
        public override void DryRun() { Get?.Invoke(null, true); Set?.Invoke(null, 0, true); }

        public Func<object?, bool, double>? Get;
        public Action<object?, double, bool>? Set;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call

        public override IntPtr Read(object? target) => PyApi.PyFloat_FromDouble(Get!(target, false));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]

        public override int Write(object? target, IntPtr value)
        {
            if (PyApi.TypeOf(value) != PyApi.FloatType) return 1;
            double d = PyApi.PyFloat_AsDouble(value);
            if (d == -1.0 && PyApi.PyErr_Occurred() != IntPtr.Zero) return -1;
            Set!(target, d, false);
            return 0;
        }
    }

    private static readonly byte[] SurrogatePass = "surrogatepass\0"u8.ToArray();
    private static readonly byte[] Utf16Le = "utf-16-le\0"u8.ToArray();

    /// <summary>Texts up to this many chars that are ASCII take <see cref="Text"/>'s short path.</summary>
    internal const int AsciiMax = 256;

    /// <summary>A new Python str of <paramref name="chars"/> (lone surrogates kept). Short ASCII
    /// text (most member values: names, hosts, keys) is narrowed to bytes on the stack
    /// (<see cref="Ascii.FromUtf16"/>, vectorized) and made by <c>PyUnicode_FromString</c>, whose
    /// ASCII path allocates the str at its final size and copies; UTF-16 decoding costs about
    /// twice as much (it grows a writer and checks every code unit). A text with a NUL (which
    /// would end the C string), non-ASCII or longer takes <c>PyUnicode_DecodeUTF16</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static IntPtr Text(ReadOnlySpan<char> chars)
    {
        int n = chars.Length;
        if (n <= AsciiMax)
        {
            byte* buffer = stackalloc byte[AsciiMax + 1];
            var bytes = new Span<byte>(buffer, n);
            if (Ascii.FromUtf16(chars, bytes, out _) == OperationStatus.Done && bytes.IndexOf((byte)0) < 0)
            {
                buffer[n] = 0;
                return PyApi.PyUnicode_FromString(buffer);
            }
        }
        int order = -1;  // little-endian, no byte order mark
        fixed (char* p = chars)
        fixed (byte* errors = SurrogatePass)
            return PyApi.PyUnicode_DecodeUTF16((byte*)p, n * 2, errors, &order);
    }

    /// <summary>Runs <see cref="Text"/>'s ASCII narrowing once without Python (compiles what it
    /// reaches of the framework ahead, see <see cref="EnsureCompiled"/>).</summary>
    internal static void WarmText()
    {
        byte* buffer = stackalloc byte[8];
        _ = Ascii.FromUtf16("warm\u00e9", new Span<byte>(buffer, 5), out _);
        _ = Ascii.FromUtf16("warm", new Span<byte>(buffer, 4), out _);
        _ = new Span<byte>(buffer, 4).IndexOf((byte)0);
    }

    /// <summary>A .NET string of the UTF-16 bytes at <paramref name="data"/>: the one allocation a
    /// native slot makes with the GIL held, so it runs as a held section (<see cref="HeldCalls"/>):
    /// if it throws (out of memory, a text too long for a .NET string), the bridge's own first
    /// handler releases the GIL before any other handler runs, and <see cref="HeldCalls.Exit"/>
    /// takes it back before the slot touches Python again. <paramref name="data"/> stays valid
    /// meanwhile: the caller holds a reference to the immutable bytes object.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static string NewString(byte* data, nint size)
    {
        HeldCalls.Enter();
        try { return new string((char*)data, 0, checked((int)(size / 2))); }
        finally { HeldCalls.Exit(); }
    }

    /// <summary>The text of exact str <paramref name="value"/> as a .NET string: 0, or -1 with a
    /// Python error set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int StringOf(IntPtr value, out string? text)
    {
        text = null;
        IntPtr bytes;
        fixed (byte* encoding = Utf16Le)
        fixed (byte* errors = SurrogatePass)
            bytes = PyApi.PyUnicode_AsEncodedString(value, encoding, errors);
        if (bytes == IntPtr.Zero) return -1;
        try
        {
            byte* data = PyApi.PyBytes_AsString(bytes);
            nint size = PyApi.PyBytes_Size(bytes);
            if (data == null) return -1;
            text = NewString(data, size);
            return 0;
        }
        finally
        {
            PyApi.Py_DecRef(bytes);
        }
    }

    private sealed class StringAccessor : Accessor
    {
        public override void DryRun() { Get?.Invoke(null, true); Set?.Invoke(null, null, true); }

        public Func<object?, bool, string?>? Get;
        public Action<object?, string?, bool>? Set;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call

        public override IntPtr Read(object? target)
        {
            string? s = Get!(target, false);
            if (s == null)
            {
                PyApi.Py_IncRef(PyApi.None);
                return PyApi.None;
            }
            return Text(s);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]

        public override int Write(object? target, IntPtr value)
        {
            if (value == PyApi.None)
            {
                Set!(target, null, false);
                return 0;
            }
            if (PyApi.TypeOf(value) != PyApi.StrType) return 1;
            if (StringOf(value, out string? text) < 0) return -1;
            Set!(target, text, false);
            return 0;
        }
    }

    private sealed class CharAccessor : Accessor
    {
        public override void DryRun() { Get?.Invoke(null, true); }

        public Func<object?, bool, char>? Get;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call

        public override IntPtr Read(object? target)
        {
            char c = Get!(target, false);
            return Text(new ReadOnlySpan<char>(&c, 1));
        }
    }
}

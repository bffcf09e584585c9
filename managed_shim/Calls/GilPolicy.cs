using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// Which members Python may call without releasing the GIL ("short" members).
/// <para>
/// Releasing the GIL for every call into .NET lets a thread that waits for the GIL take it at
/// each call, however short, and the caller then waits to get it back: with several Python
/// threads, calls of a few hundred nanoseconds each cost a thread switch (a GIL convoy).
/// Holding the GIL across a call is safe when the call cannot wait for another thread (which
/// might need the GIL to finish a callback): then it always ends by itself, soon.
/// </para>
/// <para>
/// A member is short when its code, read from its IL and the IL of what it calls (a few levels
/// deep), never waits and never runs code we cannot see: no <c>lock</c>/<see cref="Monitor"/>,
/// wait handles, sleeps, joins, spins, tasks or lazy values (<c>System.Threading*</c>), no I/O,
/// console, network or processes, no native code (P/Invoke, <c>calli</c>), no virtual or
/// interface call whose target is not known, no delegate invocation. Fields are short (their
/// class constructor is run once, with the GIL released, before the first held access).
/// Anything the reader cannot decide (no IL, a token it cannot resolve, too deep) is not short.
/// Throwing is fine: the exception's construction and unwinding wait for no Python thread.
/// </para>
/// </summary>
internal static class GilPolicy
{
    private const int MaxDepth = 12;
    private const int MaxMethods = 1500;

    // Verdicts of whole reads (depth 0), per method: pure memo, TryAdd publishes (a lost race
    // computed the same answer).
    private static readonly ConcurrentDictionary<MethodBase, Lazy<bool>> _verdicts = new();

    // Verdicts per (member, variant), for the export, with the reason of a refusal.
    private static readonly ConcurrentDictionary<(int Member, int Variant), Lazy<(bool Short, string Why)>> _members = new();

    // The first reason the read on this thread found for refusing (the read runs on one thread).
    [ThreadStatic] private static string? _why;

    private static bool No(string why)
    {
        _why ??= why;
        return false;
    }

    private static readonly string[] DeniedNamespaces =
    {
        "System.Threading", "System.IO", "System.Net", "System.Diagnostics.Tracing", "System.Console",
        "System.Reflection", "System.Runtime.Loader", "System.Runtime.Remoting", "Microsoft.Win32",
    };

    private static readonly HashSet<Type> DeniedTypes = new()
    {
        typeof(Console), typeof(Monitor), typeof(Thread), typeof(Lazy<>), typeof(AppDomain), typeof(Environment),
        typeof(Delegate), typeof(MulticastDelegate), typeof(Activator), typeof(System.Diagnostics.Process),
        typeof(System.Diagnostics.Debugger),
    };

    // Members of denied types that never wait (a GC poll, the current thread's identity) and
    // types that never wait at all.
    private static readonly HashSet<string> AllowedMembers = new()
    {
        "System.Threading.Thread.FastPollGC", "System.Threading.Thread.get_CurrentThread",
        "System.Threading.Thread.get_ManagedThreadId", "System.Threading.Thread.GetCurrentProcessorId",
        "System.Array.Copy", "System.Array.ConstrainedCopy", "System.Array.Clear",  // memory copies with type checks
    };

    private static readonly HashSet<Type> AllowedTypes = new() { typeof(Interlocked), typeof(Volatile), typeof(Buffer) };

    // Virtual calls whose override we cannot see but whose contract is a quick answer: equality,
    // hashing, ordering, formatting, ToString, pooled buffers and the runtime's own Type queries.
    private static readonly HashSet<Type> QuickContracts = new()
    {
        typeof(EqualityComparer<>), typeof(IEqualityComparer<>), typeof(Comparer<>), typeof(IComparer<>),
        typeof(IEquatable<>), typeof(IComparable<>), typeof(IComparable), typeof(Type),
        typeof(System.Buffers.ArrayPool<>), typeof(IFormatProvider), typeof(IFormattable), typeof(ISpanFormattable),
        typeof(IUtf8SpanFormattable),
    };

    // Single-byte opcodes and the size of each operand, read once from the OpCodes table.
    private static readonly OpCode[] OneByte = new OpCode[0x100];
    private static readonly OpCode[] TwoByte = new OpCode[0x100];

    static GilPolicy()
    {
        foreach (FieldInfo f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (f.GetValue(null) is not OpCode op) continue;
            ushort v = unchecked((ushort)op.Value);
            if (v < 0x100) OneByte[v] = op;
            else if ((v & 0xff00) == 0xfe00) TwoByte[v & 0xff] = op;
        }
    }

    /// <summary>Whether member <paramref name="memberId"/> (<paramref name="variant"/> 1: a
    /// field's setter) may be called with the GIL held.</summary>
    public static bool IsShort(int memberId, int variant) => Verdict(memberId, variant).Short;

    /// <summary>The verdict and, for a refusal, what the read found (a member it calls, or why).</summary>
    public static (bool Short, string Why) Verdict(int memberId, int variant) =>
        _members.GetOrAdd((memberId, variant), key => new Lazy<(bool, string)>(() =>
        {
            _why = null;
            bool verdict = Decide(key.Member);
            return (verdict, verdict ? "" : _why ?? "not decidable");
        })).Value;

    // Verdicts per (virtual member, exact runtime type): the override a call runs on that type.
    private static readonly ConcurrentDictionary<(int Member, int Type), Lazy<bool>> _onType = new();

    /// <summary>Whether a call of virtual member <paramref name="memberId"/> on an object of exactly
    /// type <paramref name="typeId"/> is short: the override it dispatches to there is read.</summary>
    public static bool IsShortOn(int memberId, int typeId) =>
        _onType.GetOrAdd((memberId, typeId), key => new Lazy<bool>(() => DecideOn(key.Member, key.Type))).Value;

    private static bool DecideOn(int memberId, int typeId)
    {
        try
        {
            if (TypeCatalog.MemberOf(memberId) is not MethodInfo m || m.IsStatic) return false;
            Type? exact = TypeCatalog.TypeOf(typeId);
            if (exact.ContainsGenericParameters || exact.IsInterface || typeof(IPythonDerived).IsAssignableFrom(exact))
                return false;
            MethodInfo root = m.GetBaseDefinition();
            for (Type? t = exact; t != null; t = t.BaseType)
            {
                foreach (MethodInfo candidate in t.GetMethods(BindingFlags.Instance | BindingFlags.Public
                             | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (candidate.GetBaseDefinition() != root) continue;
                    if (candidate.IsAbstract || Denied(t)) return false;
                    return Short(candidate, 0, new HashSet<MethodBase>());
                }
            }
            return false;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static bool Decide(int memberId)
    {
        try
        {
            MemberInfo member = TypeCatalog.MemberOf(memberId);
            Type? owner = member.DeclaringType;
            if (owner == null || owner.ContainsGenericParameters) return No("an open generic member");
            if (Denied(owner)) return No($"{owner} may wait or run code it does not show");
            switch (member)
            {
                case FieldInfo:
                    RuntimeHelpers.RunClassConstructor(owner.TypeHandle);  // never again during a held access
                    return true;
                case MethodBase m:
                    if (m.IsVirtual && !m.IsFinal && !owner.IsSealed && !owner.IsValueType)
                        return No("a virtual member: an override may run");
                    if (m.IsStatic || m is ConstructorInfo) RuntimeHelpers.RunClassConstructor(owner.TypeHandle);
                    var seen = new HashSet<MethodBase>();
                    return Short(m, 0, seen);
                default:
                    return No("not a field, method or constructor");
            }
        }
        catch (Exception e)
        {
            return No($"reading it failed ({e.GetType().Name})");  // undecidable: release the GIL
        }
    }

    private static bool Denied(Type t)
    {
        Type d = t.IsGenericType ? t.GetGenericTypeDefinition() : t;
        if (DeniedTypes.Contains(d)) return true;
        if (typeof(Delegate).IsAssignableFrom(t)) return true;
        string ns = t.Namespace ?? "";
        foreach (string denied in DeniedNamespaces)
        {
            if (ns == denied || ns.StartsWith(denied + ".", StringComparison.Ordinal)) return true;
        }
        return false;
    }

    private static bool Allowed(MethodBase m)
    {
        Type t = m.DeclaringType!;
        return AllowedTypes.Contains(t) || AllowedMembers.Contains($"{t.FullName}.{m.Name}");
    }

    private static bool QuickContract(MethodBase callee)
    {
        Type? t = callee.DeclaringType;
        if (t == null) return false;
        if (t == typeof(object)) return callee.Name is "Equals" or "GetHashCode" or "ToString";
        return QuickContracts.Contains(t.IsGenericType ? t.GetGenericTypeDefinition() : t);
    }

    /// <summary>A call into the runtime itself (a CoreLib "QCall": allocation, copies, type
    /// queries); the ones that wait belong to denied types (Thread, Monitor, wait handles).</summary>
    private static bool IsRuntimeCall(MethodBase m)
    {
        try { return m.GetCustomAttribute<DllImportAttribute>()?.Value == "QCall"; }
        catch (Exception) { return false; }
    }

    private static bool IsIntrinsic(MethodBase m)
    {
        foreach (CustomAttributeData a in m.CustomAttributes)
        {
            if (a.AttributeType.FullName == "System.Runtime.CompilerServices.IntrinsicAttribute") return true;
        }
        return false;
    }

    private static bool Throws(MethodBase m)
    {
        Type? t = m.DeclaringType;
        if (t == null) return false;
        if (typeof(Exception).IsAssignableFrom(t)) return true;  // building the exception a throw raises
        if (t.Name.Contains("ThrowHelper", StringComparison.Ordinal)) return true;
        if (t.FullName == "System.SR" && t.Assembly == typeof(object).Assembly) return true;  // an exception's message
        return m.IsDefined(typeof(System.Diagnostics.CodeAnalysis.DoesNotReturnAttribute), false);
    }

    private static bool Short(MethodBase m, int depth, HashSet<MethodBase> seen)
    {
        if (!seen.Add(m)) return true;  // already being read further up (recursion) or read
        if (seen.Count > MaxMethods) return No("calls too many methods to read");
        if (depth == 0 && _verdicts.TryGetValue(m, out Lazy<bool>? known)) return known.Value;
        Type? owner = m.DeclaringType;
        if (owner == null) return No($"{m} has no declaring type");
        if (Throws(m) || Allowed(m)) return true;
        if (Denied(owner)) return No($"calls {owner}.{m.Name}");
        MethodImplAttributes impl = m.MethodImplementationFlags;
        bool coreLib = owner.Assembly == typeof(object).Assembly;
        if ((m.Attributes & MethodAttributes.PinvokeImpl) != 0)
            return coreLib && IsRuntimeCall(m) ? true : No($"calls native code ({owner}.{m.Name})");
        if (coreLib && IsIntrinsic(m)) return true;  // the JIT emits its own code for it (Unsafe.Add...)
        if ((impl & (MethodImplAttributes.InternalCall | MethodImplAttributes.Runtime)) != 0 || m.IsAbstract)
            return coreLib && !m.IsAbstract ? true : No($"calls {owner}.{m.Name}, whose code cannot be read");  // CoreLib runtime calls (copies, allocation): short
        MethodBody? body;
        try { body = m.GetMethodBody(); } catch (Exception) { return No($"cannot read {owner}.{m.Name}"); }
        byte[]? il = body?.GetILAsByteArray();
        if (il == null) return coreLib || No($"cannot read {owner}.{m.Name}");
        if (depth >= MaxDepth) return No($"calls too deep to read ({owner}.{m.Name})");
        bool verdict = ReadCalls(m, il, depth, seen);
        // Only whole answers are kept: a deeper one may rest on a caller still being read.
        if (depth == 0) _verdicts.TryAdd(m, new Lazy<bool>(verdict));
        return verdict;
    }

    private static bool ReadCalls(MethodBase m, byte[] il, int depth, HashSet<MethodBase> seen)
    {
        Type[]? typeArgs = m.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
        Type[]? methodArgs = m.IsGenericMethod ? m.GetGenericArguments() : null;
        int i = 0;
        while (i < il.Length)
        {
            OpCode op;
            if (il[i] == 0xfe)
            {
                if (i + 1 >= il.Length) return No("unreadable code");
                op = TwoByte[il[i + 1]];
                i += 2;
            }
            else
            {
                op = OneByte[il[i]];
                i += 1;
            }
            if (op.Size == 0) return No("unreadable code");  // not an opcode we know
            int operandSize = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * (i + 4 <= il.Length ? BitConverter.ToInt32(il, i) : 0),
                _ => 4,
            };
            if (op == OpCodes.Calli) return No($"{m.DeclaringType}.{m.Name} calls through a function pointer");
            if (op == OpCodes.Call || op == OpCodes.Callvirt || op == OpCodes.Newobj
                || op == OpCodes.Ldftn || op == OpCodes.Ldvirtftn || op == OpCodes.Jmp)
            {
                if (i + 4 > il.Length) return No("unreadable code");
                int token = BitConverter.ToInt32(il, i);
                MethodBase? callee;
                try { callee = m.Module.ResolveMethod(token, typeArgs, methodArgs); }
                catch (Exception) { return No($"{m.DeclaringType}.{m.Name} calls a method that cannot be resolved"); }
                if (callee == null) return No("a call that cannot be resolved");
                bool unknownTarget = op == OpCodes.Callvirt && callee.IsVirtual && !callee.IsFinal
                    && callee.DeclaringType is { IsSealed: false, IsValueType: false } && !Throws(callee);
                if (unknownTarget && QuickContract(callee)) { i += operandSize; continue; }  // equality, hashing...
                if (unknownTarget)
                    return No($"{m.DeclaringType}.{m.Name} makes a virtual call to {callee.DeclaringType}.{callee.Name}");  // any override may run
                if (op == OpCodes.Ldvirtftn) return No($"{m.DeclaringType}.{m.Name} takes a virtual method's address");
                if (!Short(callee, depth + 1, seen))
                {
                    _why += $", from {m.DeclaringType}.{m.Name}";  // the callee gave the reason: add the path
                    return false;
                }
            }
            i += operandSize;
        }
        return true;
    }

    /// <summary>Drops the verdicts about retired types and members (their assembly is being unloaded).</summary>
    public static void Forget(Assembly dying, ISet<int> types, ISet<int> members)
    {
        foreach (MethodBase m in _verdicts.Keys)
            if (Collectibles.DependsOn(m, dying)) _verdicts.TryRemove(m, out _);
        foreach ((int Member, int Variant) k in _members.Keys)
            if (members.Contains(k.Member)) _members.TryRemove(k, out _);
        foreach ((int Member, int Type) k in _onType.Keys)
            if (members.Contains(k.Member) || types.Contains(k.Type)) _onType.TryRemove(k, out _);
    }
}

public static unsafe partial class Exports
{
    /// <summary>1 when member <paramref name="memberId"/> (<paramref name="variant"/> 1: a field's
    /// setter) is short enough to call with the GIL held (see <see cref="GilPolicy"/>), else 0.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int MemberIsShort(int memberId, int variant)
    {
        try { return GilPolicy.IsShort(memberId, variant) ? 1 : 0; }
        catch (Exception) { return 0; }
    }

    /// <summary>1 when a call of virtual member <paramref name="memberId"/> on an object of exactly
    /// type <paramref name="typeId"/> is short (see <see cref="GilPolicy.IsShortOn"/>), else 0.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int MemberIsShortOn(int memberId, int typeId)
    {
        try { return GilPolicy.IsShortOn(memberId, typeId) ? 1 : 0; }
        catch (Exception) { return 0; }
    }

    /// <summary>Why member <paramref name="memberId"/> is not short (empty when it is), as text in
    /// <paramref name="result"/>.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int MemberShortReason(int memberId, int variant, Value* result, Value* error)
    {
        try
        {
            string why = GilPolicy.Verdict(memberId, variant).Why;
            Arena.Reset();
            Values.SetString(result, why);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }
}

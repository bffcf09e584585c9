using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace PyClrBridge.Shim;

/// <summary>
/// The proof that a member is a <em>leaf</em>: a call of it cannot wait for another thread and
/// cannot run code the proof has not read, so Python may call it without releasing the GIL.
/// <para>
/// Why it matters: a call that keeps the GIL and then waits for a thread that needs the GIL
/// (a .NET thread running a Python callback) hangs the process. So a member keeps the GIL only
/// when every rule in <see cref="Rules"/> holds for it and for everything it reaches; anything
/// the proof cannot decide releases. The rules make a leaf bounded straight-line code: no loop,
/// no recursion, no unread or native code, no unresolved virtual call, no exception, no
/// allocation, every touched class constructor finished. Such code ends by itself after a
/// bounded number of instructions, and no other thread can make it wait.
/// </para>
/// <para>
/// API (also for other fast paths that keep the GIL):
/// <see cref="IsLeaf(MethodBase, Type?, out string)"/> proves a method (on a receiver of exactly
/// type <c>receiver</c>, or any receiver when null) and, when it holds, has already done the
/// run-time preparation: every class constructor the member touches has finished and every
/// method it reaches is compiled (both done here, so the caller must not hold the GIL while it
/// asks). A class constructor runs at most once, so the preparation holds for every later
/// call. <see cref="FirstChanceHandlersRegistered"/> reads, for the price of one static field
/// load, whether any <see cref="AppDomain.FirstChanceException"/> handler is registered: a path
/// that keeps the GIL across code that may throw (the bridge's own argument conversion, say)
/// must release when it is true, because those handlers run on the throwing thread.
/// </para>
/// </summary>
public static class LeafProof
{
    /// <summary>Every rule a leaf member satisfies, with what it rules out and the test that
    /// shows a member breaking it releases the GIL (tests/test_gil_policy.py).</summary>
    public static readonly (string Rule, string Description, string Test)[] Rules =
    {
        ("read", "every method reached has IL and the proof reads it: no native, internal-call or "
            + "runtime-implemented method, no P/Invoke, calli, ldftn or delegate invocation (Invoke "
            + "has no IL), no abstract or synchronized method, no overwriting of `this`; so no wait, sleep, lock, I/O or callback hides in a "
            + "call (they all end in runtime or native code)",
            "test_members_that_may_wait_release_the_gil_and_say_why, test_stall_other_threads_run_during_a_long_call, "
            + "test_short_looking_call_while_another_thread_holds_its_lock_calling_python[synchronized method]"),
        ("resolved", "every call has one known target: static and non-virtual calls, final methods, "
            + "sealed classes and structs, and virtual calls on a receiver whose exact type is known "
            + "(the member's own receiver, asked per type); an override the proof cannot see releases",
            "test_a_virtual_member_of_an_open_class_is_not_short, "
            + "test_short_looking_call_while_another_thread_holds_its_lock_calling_python[Object.ToString contract on a sealed override]"),
        ("bounded", "no backward branch (no loop, so no spin) and no recursion: every path ends "
            + "after a bounded number of instructions",
            "test_spinning_member_is_not_short"),
        ("no-throw", "no instruction that can raise an exception: no throw or rethrow, no array "
            + "element or length access, no division, no overflow check, no cast, no null "
            + "dereference (fields and calls only on receivers proved non-null), no exception "
            + "handlers; so no exception's construction (CoreLib's message lookup takes a lock "
            + "and may run assembly-resolve handlers) and no first-chance handler runs",
            "test_members_whose_throw_path_may_wait_release_the_gil, test_throwing_member_is_not_short, "
            + "test_math_abs_overflow_with_a_waiting_first_chance_handler"),
        ("no-allocation", "no newobj, newarr or box: no out-of-memory exception (whose first-chance "
            + "handlers would run on this thread) and no constructor of another type",
            "test_members_whose_throw_path_may_wait_release_the_gil[static Decimal Abs(Decimal value)-no-allocation-newobj]"),
        ("cctors-done", "the only type with a class constructor whose static state it touches "
            + "(static fields, static methods) is the member's own type, and that constructor has "
            + "finished before the first held call: the proof runs it with the GIL released (as .NET "
            + "would before the member's first use) and confirms completion from another thread; one "
            + "still running (even on this thread) or failed releases. Another type's constructor is "
            + "never run ahead of the program (its side effects keep their order): touching such a "
            + "type releases",
            "test_cctor_of_a_touched_type_that_calls_python, test_cctor_running_on_another_thread_calling_python, "
            + "test_exception_round_trip.py::test_python_exception_in_a_type_initializer_is_the_cause"),
        ("prepared", "every method reached is compiled before the first held call (with the GIL "
            + "released): no type load, assembly load or resolve handler runs during a held call",
            "no test of its own: a precaution (compiling may load types, and loading may run resolve handlers)"),
    };

    /// <summary>What one stack slot is known to hold: a non-null reference, byref or value
    /// (<c>NonNull</c>) and, for a receiver, its exact type (<c>Exact</c>).</summary>
    private readonly record struct Slot(bool NonNull, Type? Exact)
    {
        public static readonly Slot Unknown = new(false, null);

        public static Slot Meet(Slot a, Slot b) => new(a.NonNull && b.NonNull, a.Exact == b.Exact ? a.Exact : null);
    }

    // Whole verdicts per (method, exact receiver type or null): memo published by GetOrAdd.
    // Never a Lazy: a thread proving a member may wait in a class constructor whose thread
    // asks about the same member (from a Python callback); each computes its own verdict and
    // the first published wins (a refusal stays sound; running a constructor is idempotent).
    private static readonly ConcurrentDictionary<(MethodBase Method, Type? Receiver), (bool Leaf, string Why)> _verdicts = new();

    // Types whose class constructor is confirmed finished: a fact that never becomes false.
    private static readonly ConcurrentDictionary<Type, bool> _initialized = new();

    private static readonly OpCode[] OneByte = new OpCode[0x100];
    private static readonly OpCode[] TwoByte = new OpCode[0x100];

    private static readonly Func<bool> _firstChanceRegistered;

    static LeafProof()
    {
        foreach (FieldInfo f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (f.GetValue(null) is not OpCode op) continue;
            ushort v = unchecked((ushort)op.Value);
            if (v < 0x100) OneByte[v] = op;
            else if ((v & 0xff00) == 0xfe00) TwoByte[v & 0xff] = op;
        }
        _firstChanceRegistered = CompileFirstChanceProbe();
    }

    /// <summary>Whether any <see cref="AppDomain.FirstChanceException"/> handler other than the
    /// bridge's own (<see cref="HeldCalls.OwnFirstChance"/>, which only releases the GIL) is
    /// registered (the event's backing field is read each time; when it cannot be found: true).</summary>
    public static bool FirstChanceHandlersRegistered() => _firstChanceRegistered();

    // AppDomain.FirstChanceException forwards to a static event of AppContext; its backing
    // field is read through a compiled method (one field load), never through reflection per call.
    private static Func<bool> CompileFirstChanceProbe()
    {
        FieldInfo? field = null;
        foreach (Type owner in new[] { typeof(AppContext), typeof(AppDomain) })
        {
            foreach (FieldInfo f in owner.GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
            {
                if (f.FieldType == typeof(EventHandler<System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs>))
                    field ??= f;
            }
        }
        if (field == null) return static () => true;
        var probe = new DynamicMethod("FirstChanceHandlers", typeof(object), Type.EmptyTypes, typeof(LeafProof).Module, skipVisibility: true);
        ILGenerator il = probe.GetILGenerator();
        il.Emit(OpCodes.Volatile);
        il.Emit(OpCodes.Ldsfld, field);
        il.Emit(OpCodes.Ret);
        Func<object?> handlers = probe.CreateDelegate<Func<object?>>();
        EventHandler<System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs> own = HeldCalls.OwnFirstChance;
        return () => handlers() is { } h && h != (object)own;
    }

    /// <summary>Whether a call of <paramref name="m"/> (on a receiver of exactly type
    /// <paramref name="receiver"/>; null: any receiver) is proved a leaf; else
    /// <paramref name="reason"/> says which rule failed and where. Runs touched class
    /// constructors and compiles reached methods: call it without holding the GIL.</summary>
    public static bool IsLeaf(MethodBase m, Type? receiver, out string reason)
    {
        (bool leaf, string why) = _verdicts.GetOrAdd((m, receiver), key => Prove(key.Method, key.Receiver));
        reason = why;
        return leaf;
    }

    /// <summary>Whether the bridge's getter (or, <paramref name="setter"/>, setter) of field
    /// <paramref name="f"/> is a leaf: a load or store; a static field's class constructor is
    /// run and confirmed finished first.</summary>
    public static bool IsLeafField(FieldInfo f, bool setter, out string reason)
    {
        Type? owner = f.DeclaringType;
        if (owner == null || owner.ContainsGenericParameters) { reason = "read: an open generic field"; return false; }
        if (f.IsStatic && f.IsDefined(typeof(ThreadStaticAttribute), false))
        {
            reason = "no-allocation: a thread-static field (its storage is allocated per thread)";
            return false;
        }
        if (setter && f.IsLiteral) { reason = "read: a constant cannot be set"; return false; }
        if (f.IsStatic && !f.IsLiteral)
        {
            string? notReady = EnsureInitialized(owner);
            if (notReady != null) { reason = notReady; return false; }
        }
        reason = "";
        return true;
    }

    private static (bool, string) Prove(MethodBase m, Type? receiver)
    {
        try
        {
            Type? owner = m.DeclaringType;
            if (receiver == null && m.IsVirtual && !m.IsFinal && owner is { IsSealed: false, IsValueType: false })
                return (false, $"resolved: {owner}.{m.Name} is a virtual member: an override may run");
            var proof = new Proof();
            string? why = proof.Method(m, receiver, depth: 0);
            if (why != null) return (false, why);
            foreach (Type t in proof.Touched)
            {
                // The proof never runs a class constructor earlier than the program would: only
                // the member's own type's, which .NET runs before (or, beforefieldinit, at any
                // time before) the member's first use anyway. Another type's may have side
                // effects that must happen when the program first reaches it, so it releases.
                if (t != owner && t.TypeInitializer != null)
                    return (false, $"cctors-done: touches the static state of {t}, whose class constructor the proof does not run ahead of the program");
                string? notReady = EnsureInitialized(t);
                if (notReady != null) return (false, notReady);
            }
            foreach (MethodBase reached in proof.Reached)
            {
                string? notCompiled = Prepare(reached);
                if (notCompiled != null) return (false, notCompiled);
            }
            return (true, "");
        }
        catch (Exception e)
        {
            return (false, $"read: reading it failed ({e.GetType().Name})");  // undecidable: release
        }
    }

    /// <summary>Runs <paramref name="t"/>'s class constructor on this thread, then confirms
    /// from another thread that it finished (a thread running it, this one included, makes
    /// that thread wait: a timeout means still running). Null when finished.</summary>
    private static string? EnsureInitialized(Type t)
    {
        if (_initialized.ContainsKey(t)) return null;
        try
        {
            RuntimeHelpers.RunClassConstructor(t.TypeHandle);
        }
        catch (Exception e)
        {
            return $"cctors-done: the class constructor of {t} failed ({e.GetType().Name})";
        }
        if (t.TypeInitializer != null)
        {
            RuntimeTypeHandle h = t.TypeHandle;
            var confirm = new Thread(() =>
            {
                try { RuntimeHelpers.RunClassConstructor(h); } catch (Exception) { /* failed: not confirmed */ }
            }) { IsBackground = true, Name = "pyclrbridge cctor check" };
            confirm.Start();
            if (!confirm.Join(TimeSpan.FromSeconds(1)))
                return $"cctors-done: the class constructor of {t} is still running";
        }
        _initialized.TryAdd(t, true);
        return null;
    }

    private static string? Prepare(MethodBase m)
    {
        try
        {
            var args = new List<RuntimeTypeHandle>();
            if (m.DeclaringType is { IsGenericType: true } dt)
                foreach (Type a in dt.GetGenericArguments()) args.Add(a.TypeHandle);
            if (m.IsGenericMethod)
                foreach (Type a in m.GetGenericArguments()) args.Add(a.TypeHandle);
            if (args.Count == 0) RuntimeHelpers.PrepareMethod(m.MethodHandle);
            else RuntimeHelpers.PrepareMethod(m.MethodHandle, args.ToArray());
            return null;
        }
        catch (Exception e)
        {
            return $"prepared: {m.DeclaringType}.{m.Name} could not be compiled in advance ({e.GetType().Name})";
        }
    }

    /// <summary>One proof: the methods it reached and the types whose statics they touch.</summary>
    private sealed class Proof
    {
        private const int MaxDepth = 16;
        private const int MaxMethods = 400;

        public readonly HashSet<Type> Touched = new();
        public readonly List<MethodBase> Reached = new();
        private readonly HashSet<(MethodBase, Type?)> _done = new();
        private readonly HashSet<MethodBase> _onPath = new();

        private static string Name(MethodBase m) => $"{m.DeclaringType}.{m.Name}";

        /// <summary>Null when <paramref name="m"/> called on a non-null receiver of exactly
        /// <paramref name="receiver"/> (null: unknown) satisfies every rule; else why not.</summary>
        public string? Method(MethodBase m, Type? receiver, int depth)
        {
            if (_done.Contains((m, receiver))) return null;
            if (_onPath.Contains(m)) return $"bounded: {Name(m)} calls itself (recursion)";
            if (depth > MaxDepth || _done.Count > MaxMethods) return $"read: calls too deep or too many methods to read ({Name(m)})";
            Type? owner = m.DeclaringType;
            if (owner == null) return $"read: {m} has no declaring type";
            if (owner.ContainsGenericParameters || m.ContainsGenericParameters) return $"read: {Name(m)} is an open generic member";
            if (typeof(IPythonDerived).IsAssignableFrom(owner)) return $"read: {Name(m)} belongs to a Python-derived type";
            if (m is ConstructorInfo) return $"no-allocation: {Name(m)} is a constructor";
            if ((m.Attributes & MethodAttributes.PinvokeImpl) != 0) return $"read: calls native code ({Name(m)})";
            if (m.IsAbstract) return $"resolved: calls {Name(m)}, an abstract method whose implementation is not known";
            if ((m.MethodImplementationFlags & (MethodImplAttributes.InternalCall | MethodImplAttributes.Runtime)) != 0)
                return $"read: calls {Name(m)}, whose code cannot be read (runtime or native code)";
            if ((m.MethodImplementationFlags & MethodImplAttributes.Synchronized) != 0)
                return $"read: {Name(m)} is synchronized (the runtime takes a lock around it)";
            if (m.IsStatic) Touched.Add(owner);
            MethodBody? body = m.GetMethodBody();
            byte[]? il = body?.GetILAsByteArray();
            if (body == null || il == null) return $"read: calls {Name(m)}, whose code cannot be read";
            if (body.ExceptionHandlingClauses.Count > 0) return $"no-throw: {Name(m)} has exception handlers";
            _onPath.Add(m);
            string? why = Body(m, body, il, receiver, depth);
            _onPath.Remove(m);
            if (why != null) return why;
            _done.Add((m, receiver));
            Reached.Add(m);
            return null;
        }

        private static Slot ValueOf(Type t) => t.IsValueType && !t.IsByRef && !t.IsPointer ? new Slot(true, t) : Slot.Unknown;

        private string? Body(MethodBase m, MethodBody body, byte[] il, Type? receiver, int depth)
        {
            Module module = m.Module;
            Type[]? typeArgs = m.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
            Type[]? methodArgs = m.IsGenericMethod ? m.GetGenericArguments() : null;
            ParameterInfo[] ps = m.GetParameters();
            IList<LocalVariableInfo> locals = body.LocalVariables;
            Type owner = m.DeclaringType!;
            Type? thisExact = owner.IsValueType || owner.IsSealed ? owner : receiver;

            Slot Arg(int n)
            {
                if (!m.IsStatic)
                {
                    if (n == 0) return new Slot(true, thisExact);
                    n--;
                }
                return n < ps.Length ? ValueOf(ps[n].ParameterType) : Slot.Unknown;
            }

            Slot Local(int n) => n < locals.Count ? ValueOf(locals[n].LocalType) : Slot.Unknown;

            var pending = new Dictionary<int, List<Slot>>();
            List<Slot>? stack = new();
            Type? constrained = null;
            int i = 0;
            while (i < il.Length)
            {
                int at = i;
                if (pending.Remove(at, out List<Slot>? incoming))
                {
                    if (stack == null) stack = incoming;
                    else
                    {
                        if (stack.Count != incoming.Count) return $"read: {Name(m)} has code the proof cannot follow";
                        for (int k = 0; k < stack.Count; k++) stack[k] = Slot.Meet(stack[k], incoming[k]);
                    }
                }
                bool reachable = stack != null;
                List<Slot> s = stack ?? new List<Slot>();

                OpCode op;
                if (il[i] == 0xfe)
                {
                    if (i + 1 >= il.Length) return "read: unreadable code";
                    op = TwoByte[il[i + 1]];
                    i += 2;
                }
                else
                {
                    op = OneByte[il[i]];
                    i += 1;
                }
                if (op.Size == 0) return $"read: {Name(m)} has an instruction the proof does not know";
                int operandSize = op.OperandType switch
                {
                    OperandType.InlineNone => 0,
                    OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                    OperandType.InlineVar => 2,
                    OperandType.InlineI8 or OperandType.InlineR => 8,
                    OperandType.InlineSwitch => 4 + 4 * (i + 4 <= il.Length ? BitConverter.ToInt32(il, i) : 0),
                    _ => 4,
                };
                if (i + operandSize > il.Length) return "read: unreadable code";
                int operand = op.OperandType switch
                {
                    OperandType.ShortInlineBrTarget => (sbyte)il[i],
                    OperandType.ShortInlineI or OperandType.ShortInlineVar => il[i],
                    OperandType.InlineVar => BitConverter.ToUInt16(il, i),
                    OperandType.InlineI8 or OperandType.InlineR or OperandType.InlineNone => 0,
                    _ => BitConverter.ToInt32(il, i),
                };
                int next = i + operandSize;

                Slot Pop() => s.Count > 0 ? Pop1(s) : Slot.Unknown;

                string name = op.Name ?? "?";
                string? forbidden = Forbidden(name);
                if (forbidden != null) return $"{forbidden}: {Name(m)} uses {name}";

                bool fallsThrough = true;
                if (op.FlowControl == FlowControl.Branch || op.FlowControl == FlowControl.Cond_Branch)
                {
                    var targets = new List<int>();
                    if (op.OperandType == OperandType.InlineSwitch)
                    {
                        int n = operand;
                        for (int k = 0; k < n; k++) targets.Add(next + BitConverter.ToInt32(il, i + 4 + 4 * k));
                    }
                    else targets.Add(next + operand);
                    foreach (int target in targets)
                        if (target <= at) return $"bounded: {Name(m)} has a loop (a backward branch)";
                    int pops = Pops(op.StackBehaviourPop);
                    for (int k = 0; k < pops; k++) Pop();
                    if (reachable)
                    {
                        foreach (int target in targets)
                        {
                            if (pending.TryGetValue(target, out List<Slot>? other))
                            {
                                if (other.Count != s.Count) return $"read: {Name(m)} has code the proof cannot follow";
                                for (int k = 0; k < s.Count; k++) other[k] = Slot.Meet(other[k], s[k]);
                            }
                            else pending[target] = new List<Slot>(s);
                        }
                    }
                    fallsThrough = op.FlowControl == FlowControl.Cond_Branch;
                }
                else if (op == OpCodes.Ret)
                {
                    fallsThrough = false;
                }
                else if (op == OpCodes.Constrained)
                {
                    constrained = module.ResolveType(operand, typeArgs, methodArgs);
                    i = next;
                    stack = s;
                    continue;
                }
                else if (op.OpCodeType == OpCodeType.Prefix)
                {
                    // volatile., readonly., unaligned., tail., no.: no effect on what may run.
                }
                else if (op == OpCodes.Call || op == OpCodes.Callvirt)
                {
                    MethodBase callee = module.ResolveMethod(operand, typeArgs, methodArgs)
                        ?? throw new InvalidOperationException("unresolved call");
                    string? why = Call(m, op == OpCodes.Callvirt, callee, constrained, s, depth);
                    constrained = null;
                    if (why != null) return why;
                }
                else if (op == OpCodes.Ldfld || op == OpCodes.Ldflda || op == OpCodes.Stfld)
                {
                    FieldInfo f = module.ResolveField(operand, typeArgs, methodArgs) ?? throw new InvalidOperationException("unresolved field");
                    if (op == OpCodes.Stfld) Pop();
                    Slot target = Pop();
                    if (!target.NonNull) return $"no-throw: {Name(m)} reads or writes field {f.Name} of an object that may be null";
                    if (f.IsStatic) Touched.Add(f.DeclaringType!);
                    if (op == OpCodes.Ldfld) s.Add(ValueOf(f.FieldType));
                    else if (op == OpCodes.Ldflda) s.Add(new Slot(true, f.FieldType.IsValueType ? f.FieldType : null));
                }
                else if (op == OpCodes.Ldsfld || op == OpCodes.Ldsflda || op == OpCodes.Stsfld)
                {
                    FieldInfo f = module.ResolveField(operand, typeArgs, methodArgs) ?? throw new InvalidOperationException("unresolved field");
                    if (f.IsDefined(typeof(ThreadStaticAttribute), false))
                        return $"no-allocation: {Name(m)} uses thread-static field {f.Name} (storage allocated per thread)";
                    Touched.Add(f.DeclaringType!);
                    if (op == OpCodes.Stsfld) Pop();
                    else s.Add(op == OpCodes.Ldsfld ? ValueOf(f.FieldType) : new Slot(true, f.FieldType.IsValueType ? f.FieldType : null));
                }
                else if (op == OpCodes.Ldind_I1 || op == OpCodes.Ldind_U1 || op == OpCodes.Ldind_I2 || op == OpCodes.Ldind_U2
                         || op == OpCodes.Ldind_I4 || op == OpCodes.Ldind_U4 || op == OpCodes.Ldind_I8 || op == OpCodes.Ldind_I
                         || op == OpCodes.Ldind_R4 || op == OpCodes.Ldind_R8 || op == OpCodes.Ldind_Ref || op == OpCodes.Ldobj)
                {
                    if (!Pop().NonNull) return $"no-throw: {Name(m)} reads through an address that may be null";
                    s.Add(op == OpCodes.Ldobj ? ValueOf(module.ResolveType(operand, typeArgs, methodArgs)) : Slot.Unknown);
                }
                else if (op == OpCodes.Stind_I1 || op == OpCodes.Stind_I2 || op == OpCodes.Stind_I4 || op == OpCodes.Stind_I8
                         || op == OpCodes.Stind_I || op == OpCodes.Stind_R4 || op == OpCodes.Stind_R8 || op == OpCodes.Stind_Ref
                         || op == OpCodes.Stobj)
                {
                    Pop();
                    if (!Pop().NonNull) return $"no-throw: {Name(m)} writes through an address that may be null";
                }
                else if (op == OpCodes.Initobj)
                {
                    if (!Pop().NonNull) return $"no-throw: {Name(m)} clears through an address that may be null";
                }
                else if (op == OpCodes.Ldarg_0 || op == OpCodes.Ldarg_1 || op == OpCodes.Ldarg_2 || op == OpCodes.Ldarg_3
                         || op == OpCodes.Ldarg_S || op == OpCodes.Ldarg)
                {
                    int n = op == OpCodes.Ldarg_0 ? 0 : op == OpCodes.Ldarg_1 ? 1 : op == OpCodes.Ldarg_2 ? 2 : op == OpCodes.Ldarg_3 ? 3 : operand;
                    s.Add(Arg(n));
                }
                else if (op == OpCodes.Ldloc_0 || op == OpCodes.Ldloc_1 || op == OpCodes.Ldloc_2 || op == OpCodes.Ldloc_3
                         || op == OpCodes.Ldloc_S || op == OpCodes.Ldloc)
                {
                    int n = op == OpCodes.Ldloc_0 ? 0 : op == OpCodes.Ldloc_1 ? 1 : op == OpCodes.Ldloc_2 ? 2 : op == OpCodes.Ldloc_3 ? 3 : operand;
                    s.Add(Local(n));
                }
                else if ((op == OpCodes.Starg || op == OpCodes.Starg_S || op == OpCodes.Ldarga || op == OpCodes.Ldarga_S)
                         && operand == 0 && !m.IsStatic && !owner.IsValueType)
                {
                    return $"read: {Name(m)} may overwrite `this` (the proof assumes it stays the receiver)";
                }
                else if (op == OpCodes.Ldarga || op == OpCodes.Ldarga_S || op == OpCodes.Ldloca || op == OpCodes.Ldloca_S)
                {
                    bool isArg = op == OpCodes.Ldarga || op == OpCodes.Ldarga_S;
                    Slot v = isArg ? Arg(operand) : Local(operand);
                    s.Add(new Slot(true, v.Exact));  // the address of an argument or local: never null
                }
                else if (op == OpCodes.Ldstr)
                {
                    s.Add(new Slot(true, typeof(string)));  // a literal: interned when compiled, not allocated here
                }
                else if (op == OpCodes.Dup)
                {
                    Slot top = Pop();
                    s.Add(top);
                    s.Add(top);
                }
                else if (op == OpCodes.Ldtoken || op == OpCodes.Isinst || op == OpCodes.Sizeof)
                {
                    if (op == OpCodes.Ldtoken) module.ResolveMember(operand, typeArgs, methodArgs);  // loads what it names now
                    else module.ResolveType(operand, typeArgs, methodArgs);
                    if (op == OpCodes.Isinst) Pop();
                    s.Add(op == OpCodes.Isinst ? Slot.Unknown : new Slot(true, null));
                }
                else if (Plain(name))
                {
                    int pops = Pops(op.StackBehaviourPop);
                    for (int k = 0; k < pops; k++) Pop();
                    int pushes = Pushes(op.StackBehaviourPush);
                    // Arithmetic and comparisons push numbers: values, never null.
                    for (int k = 0; k < pushes; k++) s.Add(op == OpCodes.Ldnull ? Slot.Unknown : new Slot(true, null));
                }
                else
                {
                    return $"no-throw: {Name(m)} uses {name}, which the proof does not admit";
                }
                i = next;
                stack = fallsThrough ? s : null;
            }
            return null;
        }

        private static Slot Pop1(List<Slot> s)
        {
            Slot top = s[^1];
            s.RemoveAt(s.Count - 1);
            return top;
        }

        /// <summary>A call: its receiver must be non-null and its target known; the target is
        /// then proved in turn (for the receiver's exact type when known).</summary>
        private string? Call(MethodBase caller, bool isCallvirt, MethodBase callee, Type? constrained, List<Slot> s, int depth)
        {
            int pops = callee.GetParameters().Length;
            for (int k = 0; k < pops; k++) PopOr(s);
            Slot receiver = Slot.Unknown;
            if (!callee.IsStatic)
            {
                receiver = PopOr(s);
                if (!receiver.NonNull)
                    return $"no-throw: {Name(caller)} calls {Name(callee)} on an object that may be null";
            }
            MethodBase target = callee;
            Type? exact = receiver.Exact;
            if (constrained != null)
            {
                if (!constrained.IsValueType)
                    return $"resolved: {Name(caller)} calls {Name(callee)} on a reference of unknown exact type";
                MethodBase? impl = Implementation(constrained, callee);
                if (impl == null || impl.DeclaringType != constrained)
                    return $"no-allocation: {Name(caller)} calls {Name(callee)} on a boxed {constrained}";
                target = impl;
                exact = constrained;
            }
            else if (isCallvirt && callee.IsVirtual && !callee.IsFinal
                     && callee.DeclaringType is { IsSealed: false, IsValueType: false })
            {
                MethodBase? impl = exact != null && !exact.IsInterface ? Implementation(exact, callee) : null;
                if (impl == null)
                    return $"resolved: {Name(caller)} makes a virtual call to {Name(callee)}: an override may run";
                target = impl;
            }
            if (exact != null && target.DeclaringType != null && !target.DeclaringType.IsAssignableFrom(exact)) exact = null;
            string? why = Method(target, target.IsStatic ? null : exact, depth + 1);
            if (why != null) return why + $", from {Name(caller)}";  // the path back to the member
            if (callee is MethodInfo mi && mi.ReturnType != typeof(void)) s.Add(ValueOf(mi.ReturnType));
            return null;
        }

        private static Slot PopOr(List<Slot> s) => s.Count > 0 ? Pop1(s) : Slot.Unknown;
    }

    /// <summary>The method a virtual or interface call of <paramref name="callee"/> runs on an
    /// object of exactly type <paramref name="exact"/>, or null when it cannot be found.</summary>
    internal static MethodBase? Implementation(Type exact, MethodBase callee)
    {
        if (callee is not MethodInfo method || exact.ContainsGenericParameters) return null;
        Type? declaring = method.DeclaringType;
        if (declaring == null) return null;
        if (declaring.IsInterface)
        {
            if (exact.IsInterface || !declaring.IsAssignableFrom(exact)) return null;
            InterfaceMapping map = exact.GetInterfaceMap(declaring);
            for (int k = 0; k < map.InterfaceMethods.Length; k++)
                if (map.InterfaceMethods[k] == method) return map.TargetMethods[k];
            return null;
        }
        MethodInfo root = method.GetBaseDefinition();
        for (Type? t = exact; t != null; t = t.BaseType)
        {
            foreach (MethodInfo candidate in t.GetMethods(BindingFlags.Instance | BindingFlags.Public
                         | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (candidate.GetBaseDefinition() == root) return candidate;
            }
        }
        return null;
    }

    /// <summary>The rule an instruction breaks wherever it appears, or null.</summary>
    private static string? Forbidden(string name)
    {
        switch (name)
        {
            case "calli": case "ldftn": case "ldvirtftn": case "jmp": case "arglist":
                return "read";
            case "newobj": case "newarr": case "box": case "localloc":
                return "no-allocation";
            case "throw": case "rethrow": case "endfilter": case "endfinally": case "leave": case "leave.s":
            case "castclass": case "unbox": case "unbox.any": case "ckfinite": case "ldlen": case "mkrefany":
            case "refanyval": case "refanytype": case "cpobj": case "cpblk": case "initblk": case "break":
            case "div": case "div.un": case "rem": case "rem.un":
                return "no-throw";
        }
        if (name.StartsWith("ldelem", StringComparison.Ordinal) || name.StartsWith("stelem", StringComparison.Ordinal)
            || name.Contains(".ovf", StringComparison.Ordinal))
            return "no-throw";
        return null;
    }

    /// <summary>Instructions that compute on the stack or locals only and cannot throw.</summary>
    private static bool Plain(string name)
    {
        if (name.StartsWith("ldc.", StringComparison.Ordinal) || name.StartsWith("stloc", StringComparison.Ordinal)
            || name.StartsWith("starg", StringComparison.Ordinal) || name.StartsWith("conv.", StringComparison.Ordinal))
            return true;
        return name is "nop" or "ldnull" or "pop" or "add" or "sub" or "mul" or "and" or "or" or "xor" or "shl"
            or "shr" or "shr.un" or "neg" or "not" or "ceq" or "cgt" or "cgt.un" or "clt" or "clt.un";
    }

    private static int Pops(StackBehaviour b) => b switch
    {
        StackBehaviour.Pop0 => 0,
        StackBehaviour.Pop1 or StackBehaviour.Popi or StackBehaviour.Popref => 1,
        StackBehaviour.Pop1_pop1 or StackBehaviour.Popi_pop1 or StackBehaviour.Popi_popi or StackBehaviour.Popi_popi8
            or StackBehaviour.Popi_popr4 or StackBehaviour.Popi_popr8 or StackBehaviour.Popref_pop1 or StackBehaviour.Popref_popi => 2,
        StackBehaviour.Popi_popi_popi or StackBehaviour.Popref_popi_popi or StackBehaviour.Popref_popi_popi8
            or StackBehaviour.Popref_popi_popr4 or StackBehaviour.Popref_popi_popr8 or StackBehaviour.Popref_popi_popref
            or StackBehaviour.Popref_popi_pop1 => 3,
        _ => 0,
    };

    private static int Pushes(StackBehaviour b) => b switch
    {
        StackBehaviour.Push0 => 0,
        StackBehaviour.Push1_push1 => 2,
        StackBehaviour.Push1 or StackBehaviour.Pushi or StackBehaviour.Pushi8 or StackBehaviour.Pushr4
            or StackBehaviour.Pushr8 or StackBehaviour.Pushref => 1,
        _ => 0,
    };

    /// <summary>Drops verdicts about members of an assembly being unloaded.</summary>
    internal static void Forget(Assembly dying)
    {
        foreach ((MethodBase Method, Type? Receiver) k in _verdicts.Keys)
            if (Collectibles.DependsOn(k.Method, dying) || (k.Receiver != null && Collectibles.DependsOn(k.Receiver, dying)))
                _verdicts.TryRemove(k, out _);
        foreach (Type t in _initialized.Keys)
            if (Collectibles.DependsOn(t, dying)) _initialized.TryRemove(t, out _);
    }
}

using System;
using System.Collections.Concurrent;
using System.Reflection;
using System.Reflection.Emit;

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

    // Whole verdicts per (method, exact receiver type or null): memo published by GetOrAdd.
    // Never a Lazy: a thread proving a member may wait in a class constructor whose thread
    // asks about the same member (from a Python callback); each computes its own verdict and
    // the first published wins (a refusal stays sound; running a constructor is idempotent).
    private static readonly ConcurrentDictionary<(MethodBase Method, Type? Receiver), (bool Leaf, string Why)> _verdicts = new();

    private static readonly Func<bool> _firstChanceRegistered;

    static LeafProof()
    {
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
            string? notReady = LeafPreparation.EnsureInitialized(owner);
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
            var proof = new LeafIlProof();
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
                string? notReady = LeafPreparation.EnsureInitialized(t);
                if (notReady != null) return (false, notReady);
            }
            foreach (MethodBase reached in proof.Reached)
            {
                string? notCompiled = LeafPreparation.Prepare(reached);
                if (notCompiled != null) return (false, notCompiled);
            }
            return (true, "");
        }
        catch (Exception e)
        {
            return (false, $"read: reading it failed ({e.GetType().Name})");  // undecidable: release
        }
    }

    /// <summary>Drops verdicts about members of an assembly being unloaded.</summary>
    internal static void Forget(Assembly dying)
    {
        foreach ((MethodBase Method, Type? Receiver) k in _verdicts.Keys)
            if (Collectibles.DependsOn(k.Method, dying) || (k.Receiver != null && Collectibles.DependsOn(k.Receiver, dying)))
                _verdicts.TryRemove(k, out _);
        LeafPreparation.Forget(dying);
    }
}

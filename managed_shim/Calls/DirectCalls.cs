using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Linq.Expressions;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace PyClrBridge.Shim;

/// <summary>
/// Typed native entry points ("direct calls") for methods whose parameters and result are
/// primitives or strings: Python calls one native function per member with plain C arguments
/// (int64, double, UTF-16 pointer + length) and gets a plain C result, with no
/// <see cref="Value"/> frame, no boxing and no argument array.
/// <para>
/// The shape string names the C signature: the result kind, '@' when the first argument is the
/// target's handle, then one kind per parameter. Kinds: 'v' void (int64 0), 'i' integer (int64),
/// 'b' bool (int64 0/1), 'f' double or float (double), 's' string (argument: pointer + length;
/// result: pointer to an int64 length and the UTF-16 code units in the thread's arena, 0 for null),
/// 'o' (constructors only) a new object's handle, the shape ending in '#' and its type id.
/// </para>
/// <para>
/// A stub never lets an exception escape: it parks it for the calling thread and returns
/// <see cref="Failed"/>, which Python checks before using the result (see <see cref="TakePending"/>).
/// </para>
/// </summary>
internal static unsafe class DirectCalls
{
    /// <summary>The result that means "look at TakePending" (as int64, and exactly as double).</summary>
    public const long Failed = -0x6000_0000_0000_0000;

    private const double FailedDouble = Failed;

    private sealed record Stub(string Shape, IntPtr Function, Delegate? Keep);

    private static readonly Stub None = new("", IntPtr.Zero, null);

    // Concurrent with Lazy: each member's stub is built exactly once; the delegates stay
    // referenced here for the life of the process, so their native thunks stay valid.
    private static readonly ConcurrentDictionary<(int Member, int Variant), Lazy<Stub>> _stubs = new();

    // Owner: _emitLock. Delegate types are emitted (and expression trees compiled) one at a
    // time; _delegateTypes is only read and written under the lock.
    private static readonly object _emitLock = new();
    private static readonly Dictionary<string, Type> _delegateTypes = new();
    private static ModuleBuilder? _module;

    // Failures of this thread's direct calls not yet collected by Python, newest on top: an
    // exception, or Redirect. A stack, not one field, so a failing call made while Python is
    // between another failed call and its check (a finalizer, a callback) cannot swallow the
    // outer failure. Owner: the thread (each Python thread runs on its own OS thread).
    [ThreadStatic] private static Stack<object>? _pending;

    private static readonly object Redirect = new();

    private static readonly MethodInfo _target = typeof(Handles).GetMethod(nameof(Handles.Target))!;
    private static readonly MethodInfo _alloc = typeof(DirectCalls).GetMethod(nameof(AllocConstructed))!;

    // The handle a constructor stub last returned on Python's main thread and no proxy has
    // taken yet (0: none). Owner: Python's main thread (the only one that writes it here, and
    // the only one whose Python code a signal handler can interrupt). Python zeroes it in the
    // same signal-free step in which a proxy takes the handle; after an exception between the
    // stub and that step, FreeUnclaimed (main thread) frees it.
    public static readonly long* Unclaimed = (long*)NativeMemory.AllocZeroed(sizeof(long));
    private static int _mainThread = -1;  // written once, by Python's main thread at load

    /// <summary>Called at load from Python's main thread: stubs called there record their handle.</summary>
    public static long MarkMainThread()
    {
        System.Threading.Volatile.Write(ref _mainThread, Environment.CurrentManagedThreadId);
        return (long)Unclaimed;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long AllocConstructed(object o)
    {
        long h = Handles.Alloc(o);
        if (Environment.CurrentManagedThreadId == _mainThread) *Unclaimed = h;
        return h;
    }

    /// <summary>On Python's main thread: free the handle a constructor stub returned that no
    /// proxy took (an exception came between), and forget it.</summary>
    public static void FreeUnclaimed()
    {
        if (Environment.CurrentManagedThreadId != _mainThread) return;
        long h = *Unclaimed;
        *Unclaimed = 0;
        if (h != 0) Handles.Free(h);
    }
    private static readonly MethodInfo _forked = typeof(ForkGuard).GetMethod(nameof(ForkGuard.InChild))!;
    private static readonly MethodInfo _text = typeof(DirectCalls).GetMethod(nameof(Text), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo _store = typeof(DirectCalls).GetMethod(nameof(StoreText), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo _fail = typeof(DirectCalls).GetMethod(nameof(Fail), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo _enter = typeof(HeldCalls).GetMethod(nameof(HeldCalls.Enter))!;
    private static readonly MethodInfo _exit = typeof(HeldCalls).GetMethod(nameof(HeldCalls.Exit))!;
    private static readonly MethodInfo _derived = typeof(DirectCalls).GetMethod(nameof(RedirectDerived), BindingFlags.NonPublic | BindingFlags.Static)!;

    public static int Count => _stubs.Count;

    /// <summary>The stub of member <paramref name="memberId"/> (<paramref name="variant"/> 1: a
    /// field's setter; 0: anything else): shape ("" when it has none) and function pointer.</summary>
    public static (string Shape, IntPtr Function) For(int memberId, int variant)
    {
        Stub s = _stubs.GetOrAdd((memberId, variant),
            key => new Lazy<Stub>(() => TryBuild(TypeCatalog.MemberOf(key.Member), key.Variant, MayBeHeld(key.Member, key.Variant)))).Value;
        return (s.Shape, s.Function);
    }

    /// <summary>
    /// 0: no failure pending; 1: the exception is in <paramref name="error"/>; 2: the target is
    /// an instance of a Python subclass, whose base call takes the general path.
    /// </summary>
    public static int TakePending(out Exception? e)
    {
        e = null;
        if (_pending is not { Count: > 0 } pending) return 0;
        object top = pending.Pop();
        if (top == Redirect) return 2;
        e = (Exception)top;
        return 1;
    }

    private static void Park(object failure) => (_pending ??= new Stack<object>()).Push(failure);

    private static long Fail(Exception e)
    {
        Park(e);  // as it is: a TargetInvocationException is what Python's MethodInfo.Invoke threw
        return Failed;
    }

    /// <summary>Parks <paramref name="e"/> for this thread as a failed stub would (native
    /// members raise it through the same Python code, see NativeMembers).</summary>
    public static void ParkFailure(Exception e) => Fail(e);

    private static bool RedirectDerived(object target)
    {
        if (target is not IPythonDerived) return false;
        Park(Redirect);
        return true;
    }

    private static string Text(IntPtr chars, long length) => new((char*)chars, 0, checked((int)length));

    private static long StoreText(string? s)
    {
        Arena.Reset();
        return s == null ? 0 : (long)Arena.StoreCounted(s);
    }

    private static char KindOf(Type t)
    {
        if (t == typeof(bool)) return 'b';
        if (t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(byte)
            || t == typeof(sbyte) || t == typeof(ushort) || t == typeof(uint)) return 'i';
        if (t == typeof(double) || t == typeof(float)) return 'f';
        if (t == typeof(string)) return 's';
        return '\0';
    }

    /// <summary>Whether Python may call the member's stub with the GIL held: a proved leaf, or a
    /// virtual method (an override proved a leaf for an exact type, see GilPolicy.IsShortOn).</summary>
    private static bool MayBeHeld(int memberId, int variant) =>
        GilPolicy.IsShort(memberId, variant)
        || TypeCatalog.MemberOf(memberId) is MethodInfo { IsStatic: false, IsVirtual: true };

    private static Stub TryBuild(MemberInfo member, int variant, bool held)
    {
        try
        {
            return Build(member, variant, held);
        }
        catch (Exception)
        {
            return None;  // a shape the compiler refuses: the general path calls (and reports) it
        }
    }

    /// <summary>What a stub calls: its result kind, whether it takes a target, its parameter
    /// types and how to build the call from the target and the converted arguments.</summary>
    private sealed record Plan(char Result, bool Instance, Type[] Parameters,
        Func<Expression?, List<Expression>, Expression> Call, bool MayBeOverridden);

    /// <summary>The plan for a member (variant 1: a field's setter), or null when it has no stub.</summary>
    private static Plan? PlanFor(MemberInfo member, int variant)
    {
        Type? owner = member.DeclaringType;
        if (owner == null || owner.ContainsGenericParameters || owner.IsByRefLike) return null;
        switch (member)
        {
            case FieldInfo f when !f.IsLiteral && variant == 0:
                return new Plan(KindOf(f.FieldType), !f.IsStatic, Type.EmptyTypes, (self, _) => Expression.Field(self, f), false);
            case FieldInfo f when !f.IsLiteral && variant == 1:
                // A struct's instance field is written by the general path (it owns the boxing rules).
                if (f.IsInitOnly || (!f.IsStatic && owner.IsValueType)) return null;
                return new Plan('v', !f.IsStatic, new[] { f.FieldType },
                    (self, args) => Expression.Assign(Expression.Field(self, f), args[0]), false);
            case MethodInfo m when variant == 0 && !m.ContainsGenericParameters:
                return new Plan(m.ReturnType == typeof(void) ? 'v' : KindOf(m.ReturnType), !m.IsStatic,
                    m.GetParameters().Select(p => p.ParameterType).ToArray(),
                    (self, args) => Expression.Call(self, m, args),
                    !m.IsStatic && m.IsVirtual && !m.IsFinal && !owner.IsSealed);
            case ConstructorInfo c when variant == 0 && !c.IsStatic:
                // The new object's exact type is the declaring type, so Python wraps the handle
                // without asking .NET. Types whose values cross as Python values are left to the
                // general path.
                if (owner.IsAbstract || owner.IsPrimitive || owner.IsEnum || owner == typeof(string) || owner == typeof(decimal)
                    || Nullable.GetUnderlyingType(owner) != null || typeof(Delegate).IsAssignableFrom(owner)
                    || typeof(IPythonDerived).IsAssignableFrom(owner))
                    return null;
                return new Plan('o', false, c.GetParameters().Select(p => p.ParameterType).ToArray(),
                    (_, args) => Expression.New(c, args), false);
            default:
                return null;
        }
    }

    private static Stub Build(MemberInfo member, int variant, bool held)
    {
        Plan? plan = PlanFor(member, variant);
        if (plan == null) return None;
        Type owner = member.DeclaringType!;
        char resultKind = plan.Result;
        if (resultKind == '\0') return None;
        var shape = new StringBuilder().Append(resultKind);
        var native = new List<ParameterExpression>();
        var body = new List<Expression>();
        var locals = new List<ParameterExpression>();
        Expression? instance = null;
        if (plan.Instance)
        {
            shape.Append('@');
            ParameterExpression handle = Expression.Parameter(typeof(long), "target");
            native.Add(handle);
            ParameterExpression self = Expression.Variable(typeof(object), "self");
            locals.Add(self);
            body.Add(Expression.Assign(self, Expression.Call(_target, handle)));
            instance = owner.IsValueType ? Expression.Unbox(self, owner) : Expression.Convert(self, owner);
        }
        var args = new List<Expression>();
        for (int i = 0; i < plan.Parameters.Length; i++)
        {
            Type t = plan.Parameters[i];
            string name = "a" + i;
            char kind = t.IsByRef ? '\0' : KindOf(t);
            shape.Append(kind);
            switch (kind)
            {
                case 'i':
                {
                    ParameterExpression v = Expression.Parameter(typeof(long), name);
                    native.Add(v);
                    args.Add(t == typeof(long) ? v : Expression.Convert(v, t));
                    break;
                }
                case 'b':
                {
                    ParameterExpression v = Expression.Parameter(typeof(long), name);
                    native.Add(v);
                    args.Add(Expression.NotEqual(v, Expression.Constant(0L)));
                    break;
                }
                case 'f':
                {
                    if (t != typeof(double)) return None;  // a float parameter range-checks on the general path
                    ParameterExpression v = Expression.Parameter(typeof(double), name);
                    native.Add(v);
                    args.Add(v);
                    break;
                }
                case 's':
                {
                    ParameterExpression chars = Expression.Parameter(typeof(IntPtr), name + "Chars");
                    ParameterExpression length = Expression.Parameter(typeof(long), name + "Length");
                    native.Add(chars);
                    native.Add(length);
                    args.Add(Expression.Call(_text, chars, length));
                    break;
                }
                default:
                    return None;
            }
        }

        Expression call = plan.Call(instance, args);
        Type nativeResult = resultKind == 'f' ? typeof(double) : typeof(long);
        Expression result = resultKind switch
        {
            'v' => Expression.Block(call, Expression.Constant(0L)),
            'i' => call.Type == typeof(long) ? call : Expression.Convert(call, typeof(long)),
            'b' => Expression.Condition(call, Expression.Constant(1L), Expression.Constant(0L)),
            'f' => call.Type == typeof(double) ? call : Expression.Convert(call, typeof(double)),
            'o' => Expression.Call(_alloc, Expression.Convert(call, typeof(object))),
            _ => Expression.Call(_store, call),
        };
        LabelTarget done = Expression.Label(nativeResult, "done");
        Expression failed = resultKind == 'f' ? Expression.Constant(FailedDouble) : Expression.Constant(Failed);
        // In a forked child nothing may run: fail before touching anything (see ForkGuard).
        var tryBody = new List<Expression> { Expression.IfThen(Expression.Call(_forked), Expression.Return(done, failed)) };
        tryBody.AddRange(body);
        // A Python subclass may override this method: its instances take the general path,
        // which calls the base implementation.
        if (plan.MayBeOverridden)
            tryBody.Add(Expression.IfThen(Expression.Call(_derived, locals[0]), Expression.Return(done, failed)));
        tryBody.Add(Expression.Return(done, result));
        tryBody.Add(Expression.Label(done, failed));
        ParameterExpression caught = Expression.Variable(typeof(Exception), "e");
        Expression failure = Expression.Call(_fail, caught);
        if (resultKind == 'f') failure = Expression.Convert(failure, typeof(double));
        Expression guarded = Expression.TryCatch(
            Expression.Block(nativeResult, locals, tryBody),
            Expression.Catch(caught, failure));
        // A held section (see HeldCalls) in a stub Python may call with the GIL held: anything
        // but the leaf itself that throws or loads (the stub's own code, out of memory) releases
        // it first. Closed last, after the catch, holding nothing. Other stubs are only ever
        // called with the GIL released.
        if (held)
            guarded = Expression.Block(Expression.Call(_enter), Expression.TryFinally(guarded, Expression.Call(_exit)));

        if (resultKind == 'o') shape.Append('#').Append(TypeCatalog.IdOf(owner));  // the result's type id
        string signature = shape.ToString();
        Type[] nativeTypes = native.Select(p => p.Type).ToArray();
        lock (_emitLock)
        {
            Type delegateType = DelegateType(nativeResult, nativeTypes);
            Delegate compiled = Expression.Lambda(delegateType, guarded, native).Compile();
            return new Stub(signature, Marshal.GetFunctionPointerForDelegate(compiled), compiled);
        }
    }

    /// <summary>A non-generic cdecl delegate type for the native signature (caller holds _emitLock).</summary>
    private static Type DelegateType(Type result, Type[] parameters)
    {
        string key = result.Name + "(" + string.Join(",", parameters.Select(p => p.Name)) + ")";
        if (_delegateTypes.TryGetValue(key, out Type? found)) return found;
        _module ??= AssemblyBuilder.DefineDynamicAssembly(new AssemblyName("PyClrBridge.DirectCalls"),
            AssemblyBuilderAccess.Run).DefineDynamicModule("PyClrBridge.DirectCalls");
        TypeBuilder tb = _module.DefineType($"PyClrBridge.DirectCalls.Shape{_delegateTypes.Count}",
            TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.AutoClass, typeof(MulticastDelegate));
        tb.SetCustomAttribute(new CustomAttributeBuilder(
            typeof(UnmanagedFunctionPointerAttribute).GetConstructor(new[] { typeof(CallingConvention) })!,
            new object[] { CallingConvention.Cdecl }));
        ConstructorBuilder ctor = tb.DefineConstructor(
            MethodAttributes.RTSpecialName | MethodAttributes.SpecialName | MethodAttributes.HideBySig | MethodAttributes.Public,
            CallingConventions.Standard, new[] { typeof(object), typeof(IntPtr) });
        ctor.SetImplementationFlags(MethodImplAttributes.Runtime | MethodImplAttributes.Managed);
        MethodBuilder invoke = tb.DefineMethod("Invoke",
            MethodAttributes.Public | MethodAttributes.HideBySig | MethodAttributes.NewSlot | MethodAttributes.Virtual,
            result, parameters);
        invoke.SetImplementationFlags(MethodImplAttributes.Runtime | MethodImplAttributes.Managed);
        Type made = tb.CreateType()!;
        _delegateTypes[key] = made;
        return made;
    }

    /// <summary>Drops the stubs of retired member ids (no Python proxy refers to them any more).</summary>
    public static void Forget(ISet<int> members)
    {
        foreach ((int Member, int Variant) k in _stubs.Keys)
            if (members.Contains(k.Member)) _stubs.TryRemove(k, out _);
    }
}

public static unsafe partial class Exports
{
    /// <summary>
    /// The direct-call stub of a member (<paramref name="variant"/> 1: a field's setter, 0: the
    /// member itself, a field's getter): its function pointer in <paramref name="function"/>
    /// and its shape (see <see cref="DirectCalls"/>) in <paramref name="result"/>; an empty
    /// shape means the member has none and takes the general path.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int DirectStub(int memberId, int variant, IntPtr* function, Value* result, Value* error)
    {
        try
        {
            (string shape, IntPtr fn) = DirectCalls.For(memberId, variant);
            *function = fn;
            Arena.Reset();
            Values.SetString(result, shape);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    /// <summary>
    /// After a direct call returned <see cref="DirectCalls.Failed"/>: 0 when nothing failed (the
    /// result was a real value), 1 with the exception in <paramref name="error"/>, 2 when the
    /// call must be redone on the general path (a Python subclass instance).
    /// </summary>
    /// <summary>Python's main thread, at load: the address of the unclaimed-handle cell.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static long DirectMainThread() => ForkGuard.InChild() ? 0 : DirectCalls.MarkMainThread();

    /// <summary>After an exception between a constructor stub and its proxy (main thread).</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int DirectFreeUnclaimed()
    {
        if (ForkGuard.InChild()) return 0;
        DirectCalls.FreeUnclaimed();
        return 0;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int DirectPending(Value* error)
    {
        HeldCalls.Enter();  // called with the GIL held (host/shim.py SHORT_EXPORTS)
        try
        {
            int state = DirectCalls.TakePending(out Exception? e);
            if (state != 1 || e == null) return state;
            return Fail(e, error) == 1 ? 1 : 3;  // 3: the exception could not be handed over
        }
        finally { HeldCalls.Exit(); }
    }
}

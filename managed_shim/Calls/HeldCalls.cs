using System;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// The bridge's own work around a call that keeps the GIL ("held": a proved leaf's frame call
/// or direct stub, and the small exports Python calls without releasing the GIL). The leaf
/// itself cannot throw or run unread code (<see cref="LeafProof"/>); the work around it is made
/// safe by three things:
/// <list type="number">
/// <item><b>No user code and no error path of the framework</b>: a held frame call converts only
/// plain arguments (<see cref="PlainFrame"/>: numbers in range, bools, strings, null and objects
/// already of the parameter's type, for a member whose invoker is built); anything else
/// is refused before any work and Python makes the call releasing the GIL. So no conversion
/// operator, no Python object conversion, no default-value reflection and no framework throw
/// helper (whose message is looked up under CoreLib's resource lock) runs held.</item>
/// <item><b>Escape</b>: whatever else runs on a thread inside a held section (an exception the
/// bridge's own code throws, out of memory, an assembly loaded or resolved while the bridge's
/// code is compiled) first reaches the bridge's own handler, registered first on each event
/// (<see cref="AppDomain.FirstChanceException"/>, AssemblyLoad, AssemblyResolve, TypeResolve,
/// ResourceResolve, the default load context's Resolving and ResolvingUnmanagedDll): it
/// releases the GIL (<c>PyEval_SaveThread</c>) before any other handler of that event runs, and
/// the section takes it back (<c>PyEval_RestoreThread</c>) when it ends, holding no lock.</item>
/// <item><b>Fallback</b>: when some handler of those events was registered before the
/// bridge's (so it would run first), every held section releases the GIL as it starts.</item>
/// </list>
/// </summary>
internal static unsafe class HeldCalls
{
    /// <summary>What <see cref="Exports.InvokeFrameHeld"/> returns when it refused the call
    /// before doing anything: Python makes it again through <c>InvokeFrame</c>, releasing the GIL.</summary>
    public const int Refused = -1;

    // Set once by Exports.HeldSetup at load, before any held call; read by Escape and Exit.
    private static delegate* unmanaged[Cdecl]<IntPtr> _save;            // PyEval_SaveThread
    private static delegate* unmanaged[Cdecl]<IntPtr, void> _restore;   // PyEval_RestoreThread
    private static delegate* unmanaged[Cdecl]<IntPtr> _current;         // PyThreadState_GetUnchecked
    // PyGILState_GetThisThreadState, before Python 3.13 only (null from 3.13): there the
    // unchecked getter is not this thread's own (on 3.11 it is the GIL holder's, whichever thread
    // that is), so a thread holds the GIL when the holder's thread state is its own.
    private static delegate* unmanaged[Cdecl]<IntPtr> _mine;

    // Per thread, no lock (only this thread reads or writes them): how many held sections are
    // open on it, and the thread state Escape saved (0: the GIL was not released in them).
    [ThreadStatic] private static int _depth;
    [ThreadStatic] private static IntPtr _saved;

    // Whether the bridge's handlers are first on every event Escape watches; written once by
    // Hook (volatile: read by any thread). False until hooked: every held section releases.
    private static volatile bool _first;
    private static int _hooked;

    /// <summary>The bridge's own first-chance handler (first in the event's list when
    /// <see cref="First"/>): <see cref="LeafProof.FirstChanceHandlersRegistered"/> ignores it.</summary>
    public static readonly EventHandler<FirstChanceExceptionEventArgs> OwnFirstChance = (_, _) => Escape();

    /// <summary>Whether the bridge's handlers run before any other on the events Escape watches.</summary>
    public static bool First => _first;

    public static void SetApi(IntPtr save, IntPtr restore, IntPtr current, IntPtr mine)
    {
        _save = (delegate* unmanaged[Cdecl]<IntPtr>)save;
        _restore = (delegate* unmanaged[Cdecl]<IntPtr, void>)restore;
        _current = (delegate* unmanaged[Cdecl]<IntPtr>)current;
        _mine = (delegate* unmanaged[Cdecl]<IntPtr>)mine;
    }

    /// <summary>Whether this thread holds the GIL: it has a thread state attached (3.13+), or,
    /// before 3.13, the attached thread state is this thread's own.</summary>
    private static bool HoldsGil()
    {
        IntPtr current = _current();
        return current != IntPtr.Zero && (_mine == null || _mine() == current);
    }

    /// <summary>Registers the escape handlers, once, before the bridge's other handlers (called by
    /// <see cref="Assemblies.Hook"/> at load). They are first when no handler of these events
    /// exists yet, which is checked on the events' backing fields; if one cannot be read, or one
    /// already has a handler, <see cref="First"/> stays false.</summary>
    public static void Hook()
    {
        if (Interlocked.Exchange(ref _hooked, 1) != 0) return;
        bool empty = NoHandlers();
        AppDomain.CurrentDomain.FirstChanceException += OwnFirstChance;
        AppDomain.CurrentDomain.AssemblyLoad += (_, _) => Escape();
        AppDomain.CurrentDomain.AssemblyResolve += (_, _) => EscapeNull<Assembly>();
        AppDomain.CurrentDomain.TypeResolve += (_, _) => EscapeNull<Assembly>();
        AppDomain.CurrentDomain.ResourceResolve += (_, _) => EscapeNull<Assembly>();
        AssemblyLoadContext.Default.Resolving += (_, _) => EscapeNull<Assembly>();
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += (_, _) => { Escape(); return IntPtr.Zero; };
        _first = empty;
    }

    // The backing fields of the events above (AppDomain forwards them to AppContext and
    // AssemblyLoadContext): all found, and all null.
    private static bool NoHandlers()
    {
        try
        {
            int found = 0;
            foreach (Type owner in new[] { typeof(AppContext), typeof(AssemblyLoadContext) })
            {
                foreach (FieldInfo f in owner.GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
                {
                    if (!typeof(Delegate).IsAssignableFrom(f.FieldType)) continue;
                    Type t = f.FieldType;
                    if (t == typeof(EventHandler<FirstChanceExceptionEventArgs>) || t == typeof(AssemblyLoadEventHandler)
                        || t == typeof(ResolveEventHandler))
                    {
                        if (f.GetValue(null) != null) return false;
                        found++;
                    }
                }
            }
            foreach (FieldInfo f in typeof(AssemblyLoadContext).GetFields(BindingFlags.Instance | BindingFlags.NonPublic))
            {
                if (!typeof(Delegate).IsAssignableFrom(f.FieldType)) continue;
                if (f.Name.Contains("Resolving", StringComparison.OrdinalIgnoreCase))
                {
                    if (f.GetValue(AssemblyLoadContext.Default) != null) return false;
                    found++;
                }
            }
            // FirstChanceException, AssemblyLoad, AssemblyResolve, TypeResolve, ResourceResolve,
            // Resolving, ResolvingUnmanagedDll.
            return found >= 7;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static T? EscapeNull<T>() where T : class
    {
        Escape();
        return null;
    }

    /// <summary>Run by the bridge's first handler of each watched event, on the thread that raised
    /// it: inside a held section whose thread still holds the GIL, release it now, before any
    /// other handler runs. Allocates nothing and cannot throw. The thread holds the GIL when it
    /// has a Python thread state attached (<c>PyGILState_Check</c> cannot tell: once the process
    /// has a subinterpreter it answers 1 on every thread, and releasing a GIL the thread does not
    /// hold, as in a held export called releasing it, is a fatal error; see <see cref="HoldsGil"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Escape()
    {
        if (_depth > 0 && _saved == IntPtr.Zero && _save != null && HoldsGil())
        {
            _saved = _save();
            Interlocked.Increment(ref _escapes);
        }
    }

    // Times a held section released the GIL (stats only; Interlocked, read by Stats).
    private static long _escapes;

    public static long Escapes => Interlocked.Read(ref _escapes);

    /// <summary>Opens a held section (the caller closes it with <see cref="Exit"/> in a finally).
    /// Without the bridge's handlers first, the section releases the GIL at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Enter()
    {
        _depth++;
        if (!_first) Escape();
    }

    /// <summary>Closes a held section: takes the GIL back if Escape released it. Called where the
    /// section holds no lock, so waiting for the GIL here cannot deadlock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exit()
    {
        _depth--;
        if (_saved != IntPtr.Zero) Restore();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Restore()
    {
        IntPtr state = _saved;
        _saved = IntPtr.Zero;
        _restore(state);
    }

    /// <summary>Whether a frame call may run held: its member's invoker is built, the target is
    /// live, of the member's type and not a Python subclass instance, and every argument converts to its parameter's
    /// type without a conversion that can fail or run code other than the bridge's own (see
    /// <see cref="PlainArgument"/>). Reads the frame only; no side effect, cannot throw.</summary>
    public static bool PlainFrame(Frame* frame)
    {
        Invoker? invoker = Invokers.Built(frame->MemberId);
        if (invoker == null || invoker.IsConstructor || invoker.ByRefPositions.Length != 0) return false;
        Type[] types = invoker.ParameterTypes;
        int nargs = frame->NArgs;
        // Methods get every argument (an omitted optional reads its default through reflection).
        if (invoker.IsField ? nargs > types.Length : nargs != types.Length) return false;
        if (frame->Target != 0)
        {
            // Live, of the member's type (the invoker's cast cannot fail), not a Python subclass's.
            if (!Handles.TryTarget(frame->Target, out object? self) || self is null or IPythonDerived) return false;
            if (TypeCatalog.FindMember(frame->MemberId)?.DeclaringType is not { } owner || !owner.IsInstanceOfType(self)) return false;
        }
        Value* args = (Value*)(frame + 1);
        for (int i = 0; i < nargs; i++)
            if (!PlainArgument(args[i], types[i])) return false;
        return true;
    }

    /// <summary>Whether <see cref="Values.ToClr"/> of <paramref name="v"/> to <paramref name="t"/>
    /// is plain: the value already of the type (or a number in its range), so it only copies
    /// or narrows. No conversion operator, no parsing, nothing that throws.</summary>
    private static bool PlainArgument(in Value v, Type t)
    {
        switch (v.Kind)
        {
            case ValueKind.Null:
                return !t.IsValueType;
            case ValueKind.Bool:
                return t == typeof(bool);
            case ValueKind.Char:
                return t == typeof(char);
            case ValueKind.Int64:
                {
                    long n = v.Payload;
                    return t == typeof(long)
                        || (t == typeof(int) && n >= int.MinValue && n <= int.MaxValue)
                        || (t == typeof(short) && n >= short.MinValue && n <= short.MaxValue)
                        || (t == typeof(sbyte) && n >= sbyte.MinValue && n <= sbyte.MaxValue)
                        || (t == typeof(byte) && n >= byte.MinValue && n <= byte.MaxValue)
                        || (t == typeof(ushort) && n >= ushort.MinValue && n <= ushort.MaxValue)
                        || (t == typeof(uint) && n >= uint.MinValue && n <= uint.MaxValue)
                        || (t == typeof(ulong) && n >= 0);
                }
            case ValueKind.UInt64:
                return t == typeof(ulong);
            case ValueKind.Double:
                {
                    double d = BitConverter.Int64BitsToDouble(v.Payload);
                    return t == typeof(double) || (t == typeof(float) && !(double.IsFinite(d) && Math.Abs(d) > float.MaxValue));
                }
            case ValueKind.String:
                return t == typeof(string) || t == typeof(object);
            case ValueKind.Object:
                return Handles.TryTarget(v.Payload, out object? o) && o != null && t.IsInstanceOfType(o);
            default:
                return false;
        }
    }
}

public static unsafe partial class Exports
{
    /// <summary>
    /// <see cref="InvokeFrame"/> for a proved leaf, called with the GIL held: <see
    /// cref="HeldCalls.Refused"/> (nothing done) unless <see cref="HeldCalls.PlainFrame"/>, else
    /// the call inside a held section (see <see cref="HeldCalls"/>).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int InvokeFrameHeld(Frame* frame)
    {
        if (!HeldCalls.PlainFrame(frame)) return HeldCalls.Refused;
        HeldCalls.Enter();
        try
        {
            Value* slots = (Value*)(frame + 1);
            int rc = InvokeCore(frame->MemberId, frame->Target, slots, frame->NArgs, slots + frame->NArgs,
                frame->NResults, &frame->Error);
            if (rc == 0) { frame->MemberId = 0; frame->NArgs = 0; }  // returned: as InvokeFrame says it
            return rc;
        }
        finally { HeldCalls.Exit(); }
    }

    /// <summary>PyEval_SaveThread, PyEval_RestoreThread, PyThreadState_GetUnchecked (its older
    /// name before Python 3.13) and, before 3.13 only, PyGILState_GetThisThreadState (0 from
    /// 3.13), for held sections (see <see cref="HeldCalls"/>); once, at load, before any held
    /// call.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int HeldSetup(long save, long restore, long current, long mine)
    {
        if (save == 0 || restore == 0 || current == 0) return 1;
        HeldCalls.SetApi((IntPtr)save, (IntPtr)restore, (IntPtr)current, (IntPtr)mine);
        return 0;
    }
}

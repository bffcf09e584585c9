using System;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// Callbacks .NET runs at the top of a thread (a <see cref="Thread"/> start, a thread-pool work
/// item, a timer): an exception escaping them would end the process. Delegates of those types
/// are wrapped: when the runtime's own thread machinery called them, the exception goes to a
/// Python reporter (<c>threading.excepthook</c>) and the thread ends normally; when anything else
/// called them (user code, a call from Python), it propagates as usual. <see cref="FailFast"/>
/// restores .NET's behaviour (the process ends).
/// </summary>
internal static class ThreadTops
{
    // Owner: set once by Python at load (SetThreadTopReporter), read by callbacks on any thread.
    private static volatile Action<Exception>? _reporter;
    private static volatile bool _failFast;

    public static void Configure(Action<Exception>? reporter, bool failFast)
    {
        _failFast = failFast;
        _reporter = reporter;
    }

    /// <summary>The delegate to hand out for <paramref name="d"/>: wrapped when its type is one
    /// the runtime runs at the top of a thread.</summary>
    public static Delegate Guard(Delegate d) => d switch
    {
        ThreadStart f => new ThreadStart(() => { try { f(); } catch (Exception e) when (Report(e)) { } }),
        ParameterizedThreadStart f => new ParameterizedThreadStart(o => { try { f(o); } catch (Exception e) when (Report(e)) { } }),
        WaitCallback f => new WaitCallback(o => { try { f(o); } catch (Exception e) when (Report(e)) { } }),
        TimerCallback f => new TimerCallback(o => { try { f(o); } catch (Exception e) when (Report(e)) { } }),
        WaitOrTimerCallback f => new WaitOrTimerCallback((o, t) => { try { f(o, t); } catch (Exception e) when (Report(e)) { } }),
        _ => d,
    };

    /// <summary>Exception filter: true (handled, reported) only at the top of a runtime thread.
    /// Runs before the stack unwinds, so the frames above the wrapper are still there.</summary>
    private static bool Report(Exception e)
    {
        Action<Exception>? reporter = _reporter;
        if (_failFast || reporter == null || !CalledByThreadMachinery()) return false;
        try { reporter(e); }
        catch (Exception) { }  // a failing excepthook must not end the process either
        return true;
    }

    /// <summary>True when every caller of the wrapper is the runtime library's own code (thread
    /// start, thread-pool dispatch, timer queue): nobody else would catch the exception.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool CalledByThreadMachinery()
    {
        var core = typeof(object).Assembly;
        StackFrame[] frames = new StackTrace(false).GetFrames();
        // From the thread's entry up: past the runtime's frames, the first other one must be the
        // wrapper (in a filter the frames of the throw are still above it; they do not matter).
        for (int i = frames.Length - 1; i >= 0; i--)
        {
            MethodBase? m = frames[i].GetMethod();
            if (m == null) continue;
            Type? t = m.DeclaringType;  // null: a compiled stub (a call from Python)
            if (t != null && t.Assembly == core) continue;
            return t != null && t != typeof(ThreadTops) && IsOurs(t);
        }
        return false;
    }

    private static bool IsOurs(Type t)
    {
        for (Type? k = t; k != null; k = k.DeclaringType)
            if (k == typeof(ThreadTops)) return true;
        return false;
    }
}

public static unsafe partial class Exports
{
    /// <summary>Sets the reporter of exceptions escaping thread-top callbacks (a handle to an
    /// <c>Action&lt;Exception&gt;</c>; 0: none) and whether they end the process instead.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int SetThreadTopReporter(long handle, int failFast, Value* error)
    {
        try
        {
            ThreadTops.Configure(handle == 0 ? null : (Action<Exception>)Handles.Target(handle), failFast != 0);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }
}

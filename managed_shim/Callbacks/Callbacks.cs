using System;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// A Python object held by .NET: Python keeps it alive until this wrapper is collected. It
/// comes back to Python as the same object, and answers <see cref="Equals(object?)"/>,
/// <see cref="GetHashCode"/> and <see cref="ToString"/> with Python's <c>==</c>, <c>hash()</c>
/// and <c>str()</c> (so it works as a dictionary key); after shutdown, by reference.
/// </summary>
public sealed class PyObjectRef
{
    public long Id { get; }

    internal PyObjectRef(long id) => Id = id;

    // The finalizer never calls into Python: it queues the id, and Python drains the queue.
    ~PyObjectRef() => PyObjects.QueueRelease(Id);

    public override bool Equals(object? obj)
    {
        if (ReferenceEquals(this, obj)) return true;
        if (obj is PyObjectRef other && other.Id == Id) return true;
        // An exception in __eq__ reaches the .NET caller (and from there the Python one).
        return PyObjects.Protocol(PyObjects.OpEquals, this, obj) is bool b && b;
    }

    public override int GetHashCode() =>
        PyObjects.Protocol(PyObjects.OpHash, this, null) is int h ? h : RuntimeHelpers.GetHashCode(this);

    public override string ToString()
    {
        try
        {
            return PyObjects.Protocol(PyObjects.OpStr, this, null) as string ?? $"<Python object {Id}>";
        }
        catch (PythonException e)
        {
            return $"<Python object {Id}: str() raised {e.Message}>";  // ToString must not throw (debuggers, logs)
        }
    }
}

/// <summary>A Python exception that crossed into .NET from a callback.</summary>
public sealed class PythonException : Exception
{
    private readonly PyObjectRef _error;

    internal PythonException(PyObjectRef error, string pythonType, string message, string traceback)
        : base($"{pythonType}: {message}")
    {
        _error = error;
        PythonType = pythonType;
        PythonTraceback = traceback;
    }

    public string PythonType { get; }
    public string PythonTraceback { get; }
    public long PyObjectId => _error.Id;
    public override string? StackTrace => PythonTraceback + Environment.NewLine + base.StackTrace;
}

/// <summary>The registry of Python objects .NET holds, seen from the .NET side.</summary>
internal static partial class PyObjects
{
    // Concurrent: finalizer threads enqueue, Python threads drain.
    private static readonly ConcurrentQueue<long> _released = new();
    private static long _live;  // no lock: Interlocked increments, decrements and reads

    public static long Live => Interlocked.Read(ref _live);

    // Python's protocol(op, obj, other) for Equals/GetHashCode/ToString: set once at load.
    private static PyObjectRef? _protocol;
    internal const int OpEquals = 0, OpHash = 1, OpStr = 2;

    public static void SetProtocol(long id) => Interlocked.CompareExchange(ref _protocol, Take(id), null);

    /// <summary>protocol(op, obj, other) in Python; null before load or after shutdown (the
    /// callers then answer by reference).</summary>
    internal static object? Protocol(int op, PyObjectRef obj, object? other)
    {
        PyObjectRef? protocol = Volatile.Read(ref _protocol);
        if (protocol == null || Callbacks.IsClosed) return null;
        try
        {
            return Callbacks.Invoke(protocol, new object?[] { op, obj, other }, typeof(object), Type.EmptyTypes)[0];
        }
        catch (InvalidOperationException) when (Callbacks.IsClosed)
        {
            return null;  // Python shut down between the check and the call
        }
    }

    public static PyObjectRef Take(long id)
    {
        Interlocked.Increment(ref _live);
        return new PyObjectRef(id);
    }

    public static void QueueRelease(long id)
    {
        Interlocked.Decrement(ref _live);
        if (!Callbacks.IsClosed) _released.Enqueue(id);
    }

    public static unsafe int Drain(long* buffer, int capacity)
    {
        int n = 0;
        while (n < capacity && _released.TryDequeue(out long id)) buffer[n++] = id;
        return n;
    }

    /// <summary>A <see cref="ValueKind.LazyIterable"/>: the lazy sequence for an
    /// <c>IEnumerable</c> parameter.</summary>
    public static object LazyToClr(long id, Type target) =>
        PythonIterables.For(target, TakeValue(id))
        ?? throw new InvalidCastException($"a lazy Python iterable cannot become {Signatures.TypeName(target)}");

    public static object ToClr(long id, Type target)
    {
        PyObjectRef r = TakeValue(id);
        if (DelegateFactory.IsDelegateType(target)) return DelegateFactory.Create(target, r);
        if (target.IsAssignableFrom(typeof(PyObjectRef))) return r;
        throw new InvalidCastException($"a Python object cannot become {Signatures.TypeName(target)}");
    }
}

/// <summary>
/// Calls from .NET into Python through the one dispatcher function Python registered.
/// Shutdown protocol: a caller first counts itself in flight, then checks the closed flag
/// (both full fences); <see cref="Close"/> sets the flag, then waits for the count to drain.
/// So once Close returns zero, no thread is or will be inside Python.
/// </summary>
internal static unsafe partial class Callbacks
{
    // No lock: _dispatch is set once by Initialize before any callback; the flags and counters
    // are only touched through Interlocked/Volatile (the protocol above).
    private static delegate* unmanaged[Cdecl]<long, Value*, int, int, Value*, int, int> _dispatch;
    private static int _closed;
    private static int _exiting;
    private static int _inFlight;
    private static int _parked;
    private static long _calls;

    /// <summary>Marks an Object result whose handle Python duplicated for .NET to free.</summary>
    public const int TransferredHandle = -1;

    public static bool IsClosed => Volatile.Read(ref _closed) != 0;
    public static int InFlight => Volatile.Read(ref _inFlight);
    public static int Parked => Volatile.Read(ref _parked);
    public static long Calls => Interlocked.Read(ref _calls);

    public static void Register(IntPtr dispatch) =>
        _dispatch = (delegate* unmanaged[Cdecl]<long, Value*, int, int, Value*, int, int>)dispatch;

    /// <summary>Refuses new callbacks, then waits (bounded) for those in flight. Returns how many remain.
    /// exiting: the interpreter is exiting (callbacks that need a value park, see <see cref="Refuse"/>).</summary>
    public static int Close(int timeoutMs, bool exiting)
    {
        if (exiting) Interlocked.Exchange(ref _exiting, 1);
        Interlocked.Exchange(ref _closed, 1);
        var deadline = Environment.TickCount64 + timeoutMs;
        var spin = new SpinWait();
        while (Volatile.Read(ref _inFlight) > 0 && Environment.TickCount64 < deadline) spin.SpinOnce();
        return Volatile.Read(ref _inFlight);
    }

    /// <summary>
    /// Counts a callback in flight (typed callbacks, see TypedCallbacks), the same protocol as
    /// <see cref="Invoke"/>. False, and not counted, once closed; pair a true with <see cref="Exit"/>.
    /// </summary>
    public static bool TryEnter()
    {
        if (!TryCount()) return false;
        Interlocked.Increment(ref _calls);
        PyObjects.NoteCallback();
        ThreadStates.Keep();  // a .NET thread's first entry: its Python thread state, kept from now on
        return true;
    }

    /// <summary>Counts the caller in flight (pair a true with <see cref="Exit"/>); false, not counted, once closed.</summary>
    public static bool TryCount()
    {
        Interlocked.Increment(ref _inFlight);
        if (Volatile.Read(ref _closed) == 0) return true;
        Interlocked.Decrement(ref _inFlight);
        return false;
    }

    /// <summary>
    /// What a callback refused after shutdown does. A void one (timers, events) is skipped
    /// quietly. One that must produce a value (or by-ref results) cannot be skipped: after an
    /// explicit <c>Runtime.shutdown()</c> its caller gets an exception; at interpreter exit the
    /// thread waits, without running anything, until the process ends (see <see cref="ParkUntilExit"/>).
    /// Returns false for a skipped void callback; otherwise it does not return.
    /// </summary>
    public static bool Refuse(bool isVoid)
    {
        if (isVoid) return false;
        if (Volatile.Read(ref _exiting) != 0) ParkUntilExit();
        throw new InvalidOperationException("Python has shut down; the callback was not run");
    }

    /// <summary>
    /// The interpreter is exiting and this thread needs a Python result it can never get. An
    /// exception would end the process with an abort at every normal exit (a thread-pool or
    /// timer thread has nobody to catch it), and a made-up default value would let .NET go on
    /// with a result Python never gave; so the thread waits, not counted in flight (exit does
    /// not wait for it), until the process ends a moment later.
    /// </summary>
    private static void ParkUntilExit()
    {
        Interlocked.Increment(ref _parked);
        while (true)
        {
            try { Thread.Sleep(Timeout.Infinite); }
            catch (ThreadInterruptedException) { }  // nothing to go back to: keep waiting
        }
    }

    public static void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Extra of a callback's first result when it reports an error (see <see cref="Failure"/>).</summary>
    public const int ErrorMark = -2;

    /// <summary>True when a callback's first result value reports an error.</summary>
    public static bool IsFailure(in Value error) =>
        error.Extra == ErrorMark && (error.Kind == ValueKind.PyObject || error.Kind == ValueKind.Object);

    /// <summary>
    /// The exception a failed callback reports. error: a Python exception's id (PyObject) or a
    /// .NET exception's handle, transferred to .NET (Object). detail: "type\u001fmessage\u001ftraceback"
    /// (String), or for a .NET exception that is an instance of a Python subclass, that Python
    /// object's id (PyObject), so the exception returns to Python as the same object.
    /// </summary>
    public static Exception Failure(in Value error, in Value detail)
    {
        if (error.Kind == ValueKind.Object)
        {
            object? target = Handles.Target(error.Payload);
            Handles.Free(error.Payload);
            if (target is Exception ex)
            {
                if (detail.Kind == ValueKind.PyObject) ExceptionOrigins.Remember(ex, PyObjects.Take(detail.Payload));
                return ex;
            }
            return new InvalidOperationException("a Python callback raised something that is not an exception");
        }
        return PythonError(error, detail);
    }

    /// <summary>Throws <see cref="Failure"/>, keeping the stack trace a rethrown .NET exception already has.</summary>
    public static void ThrowFailure(in Value error, in Value detail) => ExceptionDispatchInfo.Throw(Failure(error, detail));

    /// <summary>The exception for a Python error: error holds its id, text "type\u001fmessage\u001ftraceback".</summary>
    public static PythonException PythonError(in Value error, in Value text)
    {
        PyObjectRef held = PyObjects.Take(error.Payload);
        string s = text.Kind == ValueKind.String ? Values.ReadString(text) : "Exception";
        string[] parts = s.Split('\u001f', 3);
        return new PythonException(held, parts[0], parts.Length > 1 ? parts[1] : "", parts.Length > 2 ? parts[2] : "");
    }

    /// <summary>Calls a Python callable. Returns [result, byref values...] converted to .NET types.</summary>
    public static object?[] Invoke(PyObjectRef callable, object?[] args, Type returnType, Type[] byRefTypes)
    {
        if (_dispatch == null || !TryCount())
        {
            Refuse(returnType == typeof(void) && byRefTypes.Length == 0);
            return new object?[1];  // a void callback after shutdown: skipped quietly
        }
        try
        {
            Interlocked.Increment(ref _calls);
            PyObjects.NoteCallback();
            ThreadStates.Keep();  // a .NET thread's first entry: its Python thread state, kept from now on
            int nargs = args.Length;
            int nresults = Math.Max(2, 1 + byRefTypes.Length);
            Value* argv = stackalloc Value[Math.Max(nargs, 1)];
            Value* results = stackalloc Value[nresults];
            Arena.Reset();
            for (int i = 0; i < nargs; i++) Values.FromClr(args[i], argv + i);
            int typeId = returnType == typeof(void) ? 0 : TypeCatalog.IdOf(returnType);
            // Converting a result of this thread (a Python key's GetHashCode): negated, so Python
            // keeps the memory that result points into (dispatch.py, "nested").
            if (PyObjects.Converting) typeId = ~typeId;
            // The dispatcher writes results[0] on every path; when an exception escapes it (a
            // signal handler raising at its entry) rc is not set, so the results say what happened.
            results[0].Kind = ValueKind.Missing;
            results[0].Extra = 0;
            int rc = _dispatch(callable.Id, argv, nargs, typeId, results, 1 + byRefTypes.Length);
            if (IsFailure(results[0])) ThrowFailure(results[0], results[1]);
            if (rc != 0 || results[0].Kind == ValueKind.Missing)
                throw new InvalidOperationException("a Python callback failed and its error could not be reported");
            var converted = new object?[1 + byRefTypes.Length];
            try
            {
                ConvertResults(results, converted, returnType, byRefTypes);
            }
            finally
            {
                // .NET objects a callback returns come with a handle of their own (Python's proxy
                // may die as soon as the callback returns): free it now that the value is read.
                for (int i = 0; i < 1 + byRefTypes.Length; i++)
                    if (results[i].Kind == ValueKind.Object && results[i].Extra == TransferredHandle) Handles.Free(results[i].Payload);
            }
            return converted;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}

/// <summary>
/// .NET exceptions raised from Python that are instances of a Python subclass: the Python
/// object, until the exception returns to Python (which then takes it back with
/// <see cref="Take"/>). ConditionalWeakTable is thread-safe and lets .NET collect the exception.
/// </summary>
internal static class ExceptionOrigins
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Exception, PyObjectRef> _origins = new();

    public static void Remember(Exception ex, PyObjectRef origin) => _origins.AddOrUpdate(ex, origin);

    /// <summary>The Python object's id (0: none). The entry stays until <see cref="Forget"/>, so the id stays held while Python looks it up.</summary>
    public static long Peek(Exception ex) => _origins.TryGetValue(ex, out PyObjectRef? r) ? r.Id : 0;

    public static void Forget(Exception ex) => _origins.Remove(ex);
}

/// <summary>
/// Stable ids for objects whose events Python subscribes to. When .NET collects such an
/// object its token is finalized and the id queued (never calling Python); Python drains the
/// queue and drops the delegates it kept for <c>-=</c> on that object.
/// </summary>
internal static class EventIdentities
{
    private sealed class Token
    {
        public readonly long Id;

        public Token(long id) => Id = id;

        ~Token()
        {
            if (!Callbacks.IsClosed) _dead.Enqueue(Id);
        }
    }

    // ConditionalWeakTable is thread-safe and keeps no object alive; _dead is concurrent:
    // finalizer threads enqueue, Python threads drain.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, Token> _tokens = new();
    private static readonly ConcurrentQueue<long> _dead = new();
    private static long _next;  // no lock: ids come from Interlocked.Increment

    public static long Of(object o) => _tokens.GetValue(o, _ => new Token(Interlocked.Increment(ref _next))).Id;

    public static unsafe int Drain(long* buffer, int capacity)
    {
        int n = 0;
        while (n < capacity && _dead.TryDequeue(out long id)) buffer[n++] = id;
        return n;
    }
}

public static unsafe partial class Exports
{
    /// <summary>The event identity of the object at <c>handle</c> (0 when the handle is not live).</summary>
    [System.Runtime.InteropServices.UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static long EventIdentity(long handle)
    {
        HeldCalls.Enter();  // called with the GIL held (host/shim.py SHORT_EXPORTS)
        try { return EventIdentities.Of(Handles.Target(handle)); }
        catch { return 0; }
        finally { HeldCalls.Exit(); }
    }

    /// <summary>
    /// The identity of the exception at <c>handle</c> (as <see cref="EventIdentity"/>) and, in
    /// <c>origin</c>, the id of the Python object it was raised as (0: none). 0 when not live.
    /// </summary>
    [System.Runtime.InteropServices.UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static long ExceptionIdentity(long handle, long* origin)
    {
        try
        {
            object target = Handles.Target(handle);
            *origin = target is Exception ex ? ExceptionOrigins.Peek(ex) : 0;
            return EventIdentities.Of(target);
        }
        catch { return 0; }
    }

    /// <summary>Drops the Python object an exception was raised as (Python holds it again).</summary>
    [System.Runtime.InteropServices.UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static int ForgetExceptionOrigin(long handle)
    {
        try
        {
            if (Handles.Target(handle) is Exception ex) ExceptionOrigins.Forget(ex);
            return 0;
        }
        catch { return 1; }
    }

    /// <summary>A second handle to the object at <c>handle</c> (0 when it is not live).</summary>
    [System.Runtime.InteropServices.UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static long DuplicateHandle(long handle)
    {
        HeldCalls.Enter();  // called with the GIL held (host/shim.py SHORT_EXPORTS)
        try { return Handles.Alloc(Handles.Target(handle)); }
        catch { return 0; }
        finally { HeldCalls.Exit(); }
    }

    /// <summary>
    /// Gives the Object value <c>slot</c> a handle of its own for .NET to free: the handle in it
    /// (a proxy's, which the proxy keeps) becomes a second handle to the same object (0 when not
    /// live) and <c>Extra</c> becomes <c>mark</c> (<see cref="Callbacks.TransferredHandle"/> or
    /// <see cref="Callbacks.ErrorMark"/>, which say the slot owns it). One native step: Python
    /// never holds the new handle where a signal handler raising could drop it, and whoever
    /// cleans the slot after an exception frees exactly the handles so marked. 1 when done,
    /// 0 when the slot held no object.
    /// </summary>
    [System.Runtime.InteropServices.UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static int TransferHandle(Value* slot, int mark)
    {
        HeldCalls.Enter();  // called with the GIL held (host/shim.py SHORT_EXPORTS)
        try
        {
            if (slot->Kind != ValueKind.Object || slot->Payload == 0) return 0;
            long handle = 0;
            try { handle = Handles.Alloc(Handles.Target(slot->Payload)); }
            catch { }  // released meanwhile: 0, as DuplicateHandle
            slot->Payload = handle;
            slot->Extra = mark;
            return 1;
        }
        finally { HeldCalls.Exit(); }
    }

    /// <summary>Copies up to <c>capacity</c> identities of collected objects into <c>buffer</c>.</summary>
    [System.Runtime.InteropServices.UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static int DrainDeadIdentities(long* buffer, int capacity) => EventIdentities.Drain(buffer, capacity);
}

public static unsafe partial class Exports
{
    /// <summary>Registers Python's protocol(op, obj, other) (id) behind PyObjectRef's Equals,
    /// GetHashCode and ToString, once.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int PyObjectProtocolSetup(long protocolId)
    {
        PyObjects.SetProtocol(protocolId);
        return 0;
    }
}

using System;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace PyClrBridge.Shim;

/// <summary>
/// The whole native surface of the shim. Each export is thin: decode, call one helper, encode.
/// Every export that can fail returns 0 on success and 1 with <c>error</c> holding a handle to
/// the .NET exception. Nothing here lets an exception escape into native code.
/// </summary>
public static unsafe partial class Exports
{
    public const int AbiVersion = 1;

    /// <summary>Reports <paramref name="e"/> as it is. A TargetInvocationException is never
    /// unwrapped here: Python's own MethodInfo.Invoke raises it as in C#; the bridge's own
    /// reflection calls do not wrap (DoNotWrapExceptions, or they rethrow the inner exception).</summary>
    private static int Fail(Exception e, Value* error)
    {
        try
        {
            error->Kind = ValueKind.Object;
            error->Payload = Handles.Alloc(e);
            error->Extra = TypeCatalog.IdOf(e.GetType());
            return 1;
        }
        catch
        {
            return 2;
        }
    }

    private static string Text(char* s, int length) => new string(s, 0, length);

    private static int Json(string text, Value* result)
    {
        Arena.Reset();
        Values.SetString(result, text);
        return 0;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int Initialize(IntPtr dispatch, Value* result, Value* error)
    {
        try
        {
            Callbacks.Register(dispatch);
            Assemblies.Hook();
            return Json(JsonSerializer.Serialize(new
            {
                abi = AbiVersion,
                runtime = Environment.Version.ToString(),
                framework = RuntimeInformation.FrameworkDescription,
                shim = typeof(Exports).Assembly.GetName().Version?.ToString(),
                forkFlag = (long)ForkGuard.Flag,
            }), result);
        }
        catch (Exception e) { return Fail(e, error); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int FindType(char* name, int length, int* typeId, Value* error)
    {
        try
        {
            Type? t = TypeCatalog.Find(Text(name, length));
            *typeId = t == null ? 0 : TypeCatalog.IdOf(t);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int DescribeType(int typeId, int members, Value* result, Value* error)
    {
        try
        {
            Type t = TypeCatalog.TypeOf(typeId);
            return Json(members != 0 ? TypeDescriber.Members(t) : TypeDescriber.Info(t), result);
        }
        catch (Exception e) { return Fail(e, error); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call (see docs/performance.md)
    public static int Invoke(int memberId, long target, Value* args, int nargs, Value* results, int nresults, Value* error) =>
        InvokeCore(memberId, target, args, nargs, results, nresults, error);

    /// <summary>A bit of a call's result count: the caller holds the target's proxy, so a result that
    /// is the target object itself (a fluent method: <c>sb.Append(x)</c> returns <c>sb</c>) comes
    /// back as <see cref="ValueKind.Target"/>, with no new handle, and the caller answers its own
    /// proxy. Set only by Python's compiled instance invokers, which handle that kind; every other
    /// caller writes the plain count, so no other path ever sees it.</summary>
    internal const int SelfResult = 0x4000_0000;

    /// <summary>The one implementation of a member call (<see cref="Invoke"/>, <see cref="InvokeFrame"/>,
    /// <see cref="InvokeFrameHeld"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // hot: optimized from the first call (see docs/performance.md)
    private static int InvokeCore(int memberId, long target, Value* args, int nargs, Value* results, int nresults, Value* error)
    {
        // The caller may answer a result that is the target itself (see SelfResult).
        bool selfOk = (nresults & SelfResult) != 0;
        nresults &= ~SelfResult;
        int read = -1;  // the last argument the conversion started to read (see Unsent.Settle)
        try
        {
            Invoker invoker = Invokers.Get(memberId);
            int nparams = invoker.ParameterTypes.Length;
            if (nargs > nparams)
                throw new ArgumentException($"expected at most {nparams} arguments, got {nargs}");
            // A field id reads with no argument and writes with one; methods fill omitted optionals.
            var converted = new object?[invoker.IsField ? nargs : nparams];
            try
            {
                for (int i = 0; i < converted.Length; i++)
                {
                    read = i;
                    converted[i] = i < nargs && args[i].Kind != ValueKind.Missing
                        ? Values.ToClr(args[i], invoker.ParameterTypes[i], strictBool: true)
                        : invoker.DefaultFor(i);
                }
            }
            catch (InvalidCastException e) when (Stored(memberId) is { } member)
            {
                throw new InvalidCastException($"{member}: {e.Message}", e);  // name the field or property written
            }
            object? self = target == 0 ? null : Handles.Target(target);
            // An instance of a Python subclass: Python reaching an overridden method means the base one.
            object? result = self is IPythonDerived ? Derived.Call(memberId, self, converted, invoker) : invoker.Call(self, converted);
            // An unfinished task: the buffers it writes into are copied back when it completes.
            AsyncWriteBack.Defer(ref result, args, Math.Min(nargs, converted.Length), converted);
            for (int i = 0; i < nargs && i < converted.Length; i++) BufferValues.CopyBack(args[i], converted[i]);
            Arena.Reset();
            if (invoker.ReturnsVoid) { results[0].Kind = ValueKind.Void; results[0].Payload = 0; }
            else if (selfOk && self != null && ReferenceEquals(result, self) && !(self is IPythonDerived) && !self.GetType().IsValueType)
            {
                results[0].Kind = ValueKind.Target; results[0].Payload = 0; results[0].Extra = 0;  // no new handle
            }
            else Values.FromClr(result, results);
            int k = 1;
            foreach (int i in invoker.ByRefPositions)
                if (k < nresults) Values.FromClr(converted[i], results + k++);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
        finally { Unsent.Settle(args, nargs, read); }
    }

    /// <summary>"Type.Member" when <paramref name="memberId"/> writes a field or a property
    /// (a setter), for a conversion error to name what was written; null for other members.</summary>
    private static string? Stored(int memberId) => TypeCatalog.MemberOf(memberId) switch
    {
        FieldInfo f => $"{f.DeclaringType?.FullName}.{f.Name}",
        MethodInfo { IsSpecialName: true } m when m.Name.StartsWith("set_", StringComparison.Ordinal)
            => $"{m.DeclaringType?.FullName}.{m.Name.Substring(4)}",
        _ => null,
    };

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int Convert(Value* value, int typeId, Value* result, Value* error)
    {
        try
        {
            object? o = Values.ToClr(*value, TypeCatalog.TypeOf(typeId), cast: true);
            Arena.Reset();
            if (o == null) { result->Kind = ValueKind.Null; result->Payload = 0; return 0; }
            result->Kind = ValueKind.Object;
            result->Payload = Handles.Alloc(o);
            result->Extra = TypeCatalog.IdOf(o.GetType());
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int Unbox(long handle, Value* result, Value* error)
    {
        try
        {
            Arena.Reset();
            object o = Handles.Target(handle);
            if (o.GetType().IsPrimitive || o is string || o is decimal || o is Enum) Values.FromClr(o, result);
            else { result->Kind = ValueKind.Void; result->Payload = 0; }
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    // 0 (an unset or already claimed handle) frees nothing and is not a refused free: Python's
    // proxy finalizer calls this export directly, without a Python frame a signal could cut
    // short, for every proxy, released or not. Nothing is freed in a forked child (ForkGuard)
    // or once Shutdown ran.
    public static int FreeHandle(long handle) => handle == 0 || FreesRefused ? 0 : Handles.Free(handle) ? 1 : 0;

    /// <summary>After an exception in Python: frees the handles in the object values of a block
    /// .NET wrote that no proxy took (Python zeroes a value's handle when a proxy takes it), and
    /// zeroes them. One call, so no signal handler in Python can stop it half-way.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int FreeUnclaimedValues(Value* values, int count)
    {
        if (FreesRefused) return 0;
        int freed = 0;
        for (int i = 0; i < count; i++)
        {
            if (values[i].Kind != ValueKind.Object || values[i].Payload == 0) continue;
            long handle = values[i].Payload;
            values[i].Payload = 0;
            if (Handles.Free(handle)) freed++;
        }
        return freed;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int MakeGeneric(int id, int method, int* typeArgs, int count, int* result, Value* error)
    {
        try
        {
            Type[] args = Enumerable.Range(0, count).Select(i => TypeCatalog.TypeOf(typeArgs[i])).ToArray();
            if (method != 0)
            {
                var m = (MethodInfo)TypeCatalog.MemberOf(id);
                try { *result = TypeCatalog.IdOf(m.MakeGenericMethod(args)); }
                catch (ArgumentException e)  // a broken constraint: say which (Python raises TypeError)
                {
                    throw new ArgumentException(Constraints.Explain(m.GetGenericArguments(), args, Signatures.Of(m)) ?? e.Message, e);
                }
            }
            else
            {
                Type def = TypeCatalog.TypeOf(id);
                try { *result = TypeCatalog.IdOf(def.MakeGenericType(args)); }
                catch (ArgumentException e)
                {
                    throw new ArgumentException(Constraints.Explain(def.GetGenericArguments(), args, Signatures.TypeName(def)) ?? e.Message, e);
                }
            }
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int MakeArrayType(int elementId, int rank) =>
        TypeCatalog.IdOf(rank <= 1 ? TypeCatalog.TypeOf(elementId).MakeArrayType() : TypeCatalog.TypeOf(elementId).MakeArrayType(rank));

    /// <summary>1 when a value of type <c>from</c> can be passed where <c>to</c> is wanted.
    /// 2 when only a user-defined implicit conversion makes it fit.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int IsAssignable(int to, int from)
    {
        try
        {
            Type t = TypeCatalog.TypeOf(to), f = TypeCatalog.TypeOf(from);
            if (t.IsAssignableFrom(f)) return 1;
            return Conversions.HasImplicit(f, t) ? 2 : 0;
        }
        catch { return 0; }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int LoadAssembly(char* text, int length, int byPath, Value* result, Value* error)
    {
        try
        {
            string s = Text(text, length);
            Assembly a = byPath != 0 ? Assemblies.LoadFromPath(s) : Assemblies.LoadByName(s);
            return Json(JsonSerializer.Serialize(new
            {
                name = a.GetName().Name,
                fullName = a.FullName,
                location = a.Location,
                types = Assemblies.PublicTypes(a).Where(t => !t.IsNested).Select(t => t.FullName).ToArray(),
            }), result);
        }
        catch (Exception e) { return Fail(e, error); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ListTypes(Value* result, Value* error)
    {
        try
        {
            int generation = Assemblies.Generation;
            var assemblies = Assemblies.Visible().Select(a => new
            {
                name = a.GetName().Name,
                types = Assemblies.PublicTypes(a).Where(t => !t.IsNested).Select(t => t.FullName).ToArray(),
            }).ToArray();
            return Json(JsonSerializer.Serialize(new { generation, assemblies }), result);
        }
        catch (Exception e) { return Fail(e, error); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int TryLoadNamespace(char* ns, int length)
    {
        try { return Assemblies.TryLoadForNamespace(Text(ns, length)) ? 1 : 0; }
        catch { return 0; }
    }

    /// <summary>Never load the assembly named by the first text (reason: the second); 1 if it is not
    /// loaded yet, 0 if it already is (the refusal then holds only for later loads), -1 on bad input.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int RefuseAssembly(char* name, int nameLength, char* reason, int reasonLength)
    {
        try { return Assemblies.Refuse(Text(name, nameLength), Text(reason, reasonLength)) ? 1 : 0; }
        catch { return -1; }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int Generation() => Assemblies.Generation;

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int Stats(Value* result, Value* error)
    {
        try
        {
            return Json(JsonSerializer.Serialize(new
            {
                live_handles = Handles.Live,
                handles_allocated = Handles.Allocated,
                handles_freed = Handles.Freed,
                refused_frees = Handles.RefusedFrees,
                python_objects_held = PyObjects.Live,
                known_types = TypeCatalog.TypeCount,
                known_members = TypeCatalog.MemberCount,
                compiled_invokers = Invokers.Count,
                delegate_factories = DelegateFactory.Count,
                dynamic_call_sites = DynamicMembers.Count,
                derived_types = Derived.Count,
                callbacks = Callbacks.Calls,
                callbacks_in_flight = Callbacks.InFlight,
                callbacks_parked = Callbacks.Parked,
                releasing_parked = Releasing.Parked,
                thread_states_kept = ThreadStates.Kept,
                thread_states_created = ThreadStates.Created,
                thread_states_released = ThreadStates.Released,
                held_handlers_first = HeldCalls.First,
                held_escapes = HeldCalls.Escapes,
            }), result);
        }
        catch (Exception e) { return Fail(e, error); }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int DrainReleased(long* buffer, int capacity) => PyObjects.Drain(buffer, capacity);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return 0;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int Shutdown(int timeoutMs, int exiting)
    {
        System.Threading.Volatile.Write(ref _shutDown, true);  // frees refused from now on (FreeHandle)
        Releasing.Close(exiting != 0, timeoutMs);  // native slots that released the GIL: see Releasing
        return Callbacks.Close(timeoutMs, exiting != 0);
    }

    // Set once by Shutdown: the frees Python's finalizers make directly (without Python's own
    // shutdown check) free nothing afterwards, as Python's free_handle does.
    private static bool _shutDown;

    private static bool FreesRefused => ForkGuard.InChild() || System.Threading.Volatile.Read(ref _shutDown);
}

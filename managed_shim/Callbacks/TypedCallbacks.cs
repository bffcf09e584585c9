using System;
using System.Collections.Concurrent;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.InteropServices;
using System.Text;

namespace PyClrBridge.Shim;

/// <summary>
/// Delegates whose Invoke takes and returns only primitives (bool, integers, char, float,
/// double; no ref/out) call Python through a native thunk typed for that shape, e.g.
/// <c>int (long id, int a, int b, TypedSlot* slot)</c> for <c>Comparison&lt;int&gt;</c>: no
/// boxing, no object[], no Value structs on the way in or (normally) out. Python makes one
/// thunk per shape (a ctypes CFUNCTYPE it keeps for the life of the process); the thunk looks
/// the callable up by id, exactly like the generic dispatcher, so the callable's lifetime is
/// the usual <see cref="PyObjectRef"/> one.
/// A thunk writes <see cref="TypedSlot"/> only when the native return value cannot carry the
/// result: the callable raised (Status = String, as in the dispatcher's results), or returned
/// something that needs the ordinary conversion rules (Status = Void, Result = that value).
/// </summary>
internal static unsafe class TypedCallbacks
{
    // Shape letter per primitive type (the return type's letter first, then the parameters').
    // Python (pyclrbridge/_typed_callbacks.py) maps the same letters to ctypes types.
    private static readonly (Type Clr, char Code, Type Wire)[] _primitives =
    {
        (typeof(bool), '?', typeof(byte)),  // bool and char are not blittable: they cross as bytes / UInt16
        (typeof(byte), 'B', typeof(byte)),
        (typeof(sbyte), 'b', typeof(sbyte)),
        (typeof(short), 'h', typeof(short)),
        (typeof(ushort), 'H', typeof(ushort)),
        (typeof(int), 'i', typeof(int)),
        (typeof(uint), 'I', typeof(uint)),
        (typeof(long), 'q', typeof(long)),
        (typeof(ulong), 'Q', typeof(ulong)),
        (typeof(char), 'c', typeof(ushort)),
        (typeof(float), 'f', typeof(float)),
        (typeof(double), 'd', typeof(double)),
    };

    // No lock: _maker is set once by Register before Python converts any callable.
    private static delegate* unmanaged[Cdecl]<byte*, int, long*, void> _maker;

    // Concurrent: a memo of Python's answer per shape (0: Python could not make one). Two
    // threads may both ask for a new shape; Python hands both the same thunk.
    private static readonly ConcurrentDictionary<string, IntPtr> _thunks = new();

    private static readonly MethodInfo _enter = Method(nameof(Enter));
    private static readonly MethodInfo _exit = Method(nameof(Exit));
    private static readonly MethodInfo _complete = Method(nameof(Complete));
    private static readonly FieldInfo _thunkField = typeof(TypedTarget).GetField(nameof(TypedTarget.Thunk))!;
    private static readonly FieldInfo _idField = typeof(TypedTarget).GetField(nameof(TypedTarget.Id))!;
    private static readonly FieldInfo _statusField = typeof(TypedSlot).GetField(nameof(TypedSlot.Status))!;
    private static readonly FieldInfo _kindField = typeof(Value).GetField(nameof(Value.Kind))!;

    public static int ThunkCount => _thunks.Count;

    private static MethodInfo Method(string name) => typeof(TypedCallbacks).GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic)
        ?? throw new MissingMethodException(nameof(TypedCallbacks), name);

    public static void Register(IntPtr maker) => _maker = (delegate* unmanaged[Cdecl]<byte*, int, long*, void>)maker;

    /// <summary>The shape code of a delegate type ("iii" for Comparison&lt;int&gt;), or null when it is not all primitives.</summary>
    public static string? ShapeOf(Type delegateType)
    {
        MethodInfo? invoke = delegateType.GetMethod("Invoke");
        if (invoke == null || delegateType.ContainsGenericParameters) return null;
        var shape = new StringBuilder();
        if (invoke.ReturnType == typeof(void)) shape.Append('v');
        else if (Code(invoke.ReturnType) is char r) shape.Append(r);
        else return null;
        foreach (ParameterInfo p in invoke.GetParameters())
        {
            if (Code(p.ParameterType) is char c) shape.Append(c);
            else return null;
        }
        return shape.ToString();
    }

    private static char? Code(Type t)
    {
        foreach (var (clr, code, _) in _primitives) if (clr == t) return code;
        return null;
    }

    private static Type Wire(Type t)
    {
        foreach (var (clr, _, wire) in _primitives) if (clr == t) return wire;
        throw new ArgumentException($"{t} is not a primitive of a typed callback");
    }

    /// <summary>
    /// Python's thunk for the delegate type's shape, or 0 when the type needs the generic path
    /// (or Python could not make one). Called outside every lock: it may call into Python once per shape.
    /// </summary>
    public static IntPtr ThunkFor(Type delegateType)
    {
        string? shape = ShapeOf(delegateType);
        if (shape == null || _maker == null) return IntPtr.Zero;
        if (_thunks.TryGetValue(shape, out IntPtr thunk)) return thunk;
        if (!Callbacks.TryEnter()) return IntPtr.Zero;  // shutting down: the generic path refuses calls itself
        try
        {
            // The maker writes the address, or minus the registry id of the exception that stopped
            // it (KeyboardInterrupt, a signal at its entry); 0: no thunk, asked again next time.
            long address = 0;
            byte[] ascii = Encoding.ASCII.GetBytes(shape);
            fixed (byte* p = ascii) _maker(p, ascii.Length, &address);
            if (address < 0) throw new PythonException(PyObjects.Take(-address), "BaseException", "making a typed callback was interrupted", "");
            thunk = (IntPtr)address;
        }
        finally
        {
            Callbacks.Exit();
        }
        return thunk == IntPtr.Zero ? thunk : _thunks.GetOrAdd(shape, thunk);
    }

    /// <summary>
    /// The factory of delegates of <paramref name="delegateType"/> calling <paramref name="thunk"/>.
    /// Emits one DynamicMethod: callers serialize this on DelegateFactory's emit lock.
    /// </summary>
    public static Func<PyObjectRef, Delegate> Build(Type delegateType, IntPtr thunk)
    {
        MethodInfo invoke = delegateType.GetMethod("Invoke")!;
        Type ret = invoke.ReturnType;
        ParameterInfo[] ps = invoke.GetParameters();
        var parameters = new Type[ps.Length + 1];
        parameters[0] = typeof(TypedTarget);
        var wireParameters = new Type[ps.Length + 2];
        wireParameters[0] = typeof(long);
        for (int i = 0; i < ps.Length; i++)
        {
            parameters[i + 1] = ps[i].ParameterType;
            wireParameters[i + 1] = Wire(ps[i].ParameterType);
        }
        wireParameters[ps.Length + 1] = typeof(IntPtr);
        bool isVoid = ret == typeof(void);

        var method = new DynamicMethod($"PythonTyped_{ShapeOf(delegateType)}", ret, parameters, typeof(TypedTarget), skipVisibility: true);
        ILGenerator il = method.GetILGenerator();
        LocalBuilder slot = il.DeclareLocal(typeof(TypedSlot));  // zeroed on entry (InitLocals)
        LocalBuilder? result = isVoid ? null : il.DeclareLocal(ret);
        Label done = il.DefineLabel();
        Label native = il.DefineLabel();

        // if (!Enter(isVoid)) return;  (only a void delegate gets false; the others throw)
        il.Emit(isVoid ? OpCodes.Ldc_I4_1 : OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Call, _enter);
        il.Emit(OpCodes.Brfalse, done);
        il.BeginExceptionBlock();
        // result = thunk(target.Id, args..., &slot)
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, _idField);
        for (int i = 0; i < ps.Length; i++) il.Emit(OpCodes.Ldarg, (short)(i + 1));  // bool and char are already ints on the stack
        il.Emit(OpCodes.Ldloca, slot);
        il.Emit(OpCodes.Conv_U);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, _thunkField);
        il.EmitCalli(OpCodes.Calli, CallingConvention.Cdecl, isVoid ? typeof(void) : Wire(ret), wireParameters);
        if (ret == typeof(bool))
        {
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Cgt_Un);  // any non-zero byte is true
        }
        if (result != null) il.Emit(OpCodes.Stloc, result);
        // if (slot.Status.Kind != Null) result = (T)Complete(target, ref slot);  (raises for a Python error)
        il.Emit(OpCodes.Ldloca, slot);
        il.Emit(OpCodes.Ldflda, _statusField);
        il.Emit(OpCodes.Ldfld, _kindField);
        il.Emit(OpCodes.Brfalse, native);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldloca, slot);
        il.Emit(OpCodes.Call, _complete);
        if (result != null)
        {
            il.Emit(OpCodes.Unbox_Any, ret);
            il.Emit(OpCodes.Stloc, result);
        }
        else
        {
            il.Emit(OpCodes.Pop);
        }
        il.MarkLabel(native);
        il.BeginFinallyBlock();
        il.Emit(OpCodes.Call, _exit);
        il.EndExceptionBlock();
        il.MarkLabel(done);
        if (result != null) il.Emit(OpCodes.Ldloc, result);
        il.Emit(OpCodes.Ret);

        // Compile now, under the caller's emit lock; later CreateDelegate calls only bind a target.
        method.CreateDelegate(delegateType, new TypedTarget(thunk, null, ret));
        return callable => method.CreateDelegate(delegateType, new TypedTarget(thunk, callable, ret));
    }

    /// <summary>Counts the call in flight. After shutdown, as on the generic path (<see cref="Callbacks.Refuse"/>):
    /// false for a void delegate (skipped quietly); otherwise an exception, or the thread parks at exit.</summary>
    private static bool Enter(bool isVoid) => Callbacks.TryEnter() || Callbacks.Refuse(isVoid);

    private static void Exit() => Callbacks.Exit();

    /// <summary>The result a thunk left in the slot (converted by the usual rules), or the Python error as an exception.</summary>
    private static object? Complete(TypedTarget target, ref TypedSlot slot)
    {
        switch (slot.Status.Kind)
        {
            case ValueKind.String or ValueKind.PyObject:
                Callbacks.ThrowFailure(slot.Result, slot.Status);
                return null;
            case ValueKind.Void:
                try
                {
                    if (target.ReturnType == typeof(void)) return null;
                    var converted = new object?[1];
                    fixed (Value* result = &slot.Result) Callbacks.ConvertResults(result, converted, target.ReturnType, Type.EmptyTypes);
                    return converted[0];
                }
                finally
                {
                    if (slot.Result.Kind == ValueKind.Object && slot.Result.Extra == Callbacks.TransferredHandle) Handles.Free(slot.Result.Payload);
                }
            default:
                throw new InvalidOperationException("a Python callback failed and its error could not be reported");
        }
    }
}

/// <summary>Where a typed thunk reports what its native return value cannot carry (see <see cref="TypedCallbacks"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TypedSlot
{
    public Value Result;  // the error's Python object id, or a result to convert
    public Value Status;  // Null: use the native return; String/PyObject: an error (Callbacks.Failure); Void: convert Result
}

/// <summary>What a typed delegate is bound to: the shape's thunk and the Python callable.</summary>
internal sealed class TypedTarget
{
    public readonly IntPtr Thunk;
    public readonly long Id;
    internal readonly Type ReturnType;
    // Holds the callable registered in Python for as long as this delegate can be called.
    private readonly PyObjectRef? _callable;

    internal TypedTarget(IntPtr thunk, PyObjectRef? callable, Type returnType)
    {
        Thunk = thunk;
        Id = callable?.Id ?? 0;
        ReturnType = returnType;
        _callable = callable;
    }

    public override string ToString() => _callable?.ToString() ?? "<typed callback>";
}

public static unsafe partial class Exports
{
    /// <summary>Registers Python's maker of typed thunks: <c>void maker(byte* shape, int length, long* address)</c> writes a thunk's address (or 0).</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    public static int RegisterTypedThunks(IntPtr maker)
    {
        try
        {
            TypedCallbacks.Register(maker);
            return 0;
        }
        catch { return 1; }
    }
}

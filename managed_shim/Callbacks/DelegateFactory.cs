using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Linq.Expressions;
using System.Reflection;
using System.Reflection.Emit;

namespace PyClrBridge.Shim;

/// <summary>
/// Makes a .NET delegate of any type that calls a Python callable. One factory per delegate
/// type, compiled once from an expression tree.
/// </summary>
internal static class DelegateFactory
{
    // Two levels: _factories holds only finished factories (read without a lock); building one
    // happens under _emitLock, which also serializes expression compilation.
    private static readonly ConcurrentDictionary<Type, Func<PyObjectRef, Delegate>> _factories = new();
    private static readonly object _emitLock = new();
    private static readonly MethodInfo _invoke = typeof(Callbacks).GetMethod(nameof(Callbacks.Invoke))
        ?? throw new MissingMethodException(nameof(Callbacks), nameof(Callbacks.Invoke));

    public static int Count => _factories.Count;

    /// <summary>Drops the factories of delegate types built from a type of <paramref name="dying"/> (<c>Func&lt;S&gt;</c>).</summary>
    public static void Forget(Assembly dying)
    {
        foreach (Type t in _factories.Keys)
            if (Collectibles.DependsOn(t, dying)) _factories.TryRemove(t, out _);
    }

    public static bool IsDelegateType(Type t) =>
        typeof(Delegate).IsAssignableFrom(t) && t != typeof(Delegate) && t != typeof(MulticastDelegate);

    public static Delegate Create(Type delegateType, PyObjectRef callable)
    {
        if (!_factories.TryGetValue(delegateType, out var factory))
        {
            // All-primitive signatures call a native thunk typed for their shape (no boxing).
            // Asked for outside the lock: the first delegate of a shape asks Python for it.
            IntPtr thunk = TypedCallbacks.ThunkFor(delegateType);
            lock (_emitLock)
            {
                if (!_factories.TryGetValue(delegateType, out factory))
                {
                    factory = thunk != IntPtr.Zero ? TypedCallbacks.Build(delegateType, thunk) : Build(delegateType);
                    factory = DelegateClosures.WithOwnSignature(delegateType, factory);
                    _factories[delegateType] = factory;
                }
            }
        }
        return ThreadTops.Guard(factory(callable));
    }

    private static Func<PyObjectRef, Delegate> Build(Type delegateType)
    {
        if (delegateType.ContainsGenericParameters)
            throw new InvalidOperationException($"{Signatures.TypeName(delegateType)} needs type arguments");
        MethodInfo invoke = delegateType.GetMethod("Invoke")
            ?? throw new InvalidOperationException($"{delegateType} has no Invoke method");
        ParameterInfo[] ps = invoke.GetParameters();
        ParameterExpression callable = Expression.Parameter(typeof(PyObjectRef), "callable");
        ParameterExpression[] inner = ps.Select(p => Expression.Parameter(p.ParameterType, p.Name)).ToArray();
        Type[] byRefTypes = ps.Where(p => p.ParameterType.IsByRef).Select(p => p.ParameterType.GetElementType()!).ToArray();

        // Out parameters are results only: Python receives the other arguments and returns
        // (result, out values...).
        Expression[] boxed = ps.Select((p, i) => (p, i)).Where(x => !(x.p.IsOut && x.p.ParameterType.IsByRef))
            .Select(x => (Expression)Expression.Convert(inner[x.i], typeof(object))).ToArray();
        ParameterExpression results = Expression.Variable(typeof(object?[]), "results");
        var body = new List<Expression>
        {
            Expression.Assign(results, Expression.Call(_invoke, callable,
                Expression.NewArrayInit(typeof(object), boxed),
                Expression.Constant(invoke.ReturnType, typeof(Type)),
                Expression.Constant(byRefTypes))),
        };
        int k = 1;
        for (int i = 0; i < ps.Length; i++)
        {
            if (!ps[i].ParameterType.IsByRef) continue;
            Type et = ps[i].ParameterType.GetElementType()!;
            body.Add(Expression.Assign(inner[i],
                Expression.Convert(Expression.ArrayIndex(results, Expression.Constant(k++)), et)));
        }
        if (invoke.ReturnType != typeof(void))
            body.Add(Expression.Convert(Expression.ArrayIndex(results, Expression.Constant(0)), invoke.ReturnType));
        else
            body.Add(Expression.Empty());
        LambdaExpression lambda = Expression.Lambda(delegateType, Expression.Block(invoke.ReturnType, new[] { results }, body), inner);
        return Expression.Lambda<Func<PyObjectRef, Delegate>>(lambda, callable).Compile();
    }
}

/// <summary>
/// What a delegate made from a Python callable is bound to, as a C# lambda is bound to its
/// closure object: the delegate's <see cref="Delegate.Method"/> is an instance method of a
/// class derived from this one with exactly the delegate's own parameters and return type,
/// and <see cref="Delegate.Target"/> is the closure. Libraries that read <c>Method</c> to
/// decide how to call a delegate (script engines, dependency injection, minimal APIs,
/// <c>Delegate.CreateDelegate(type, d.Target, d.Method)</c>) see what they would see for a
/// lambda. The method forwards to <see cref="Callback"/>, the delegate that calls Python.
/// </summary>
public abstract class PythonCallableClosure
{
    /// <summary>The delegate (of the same type) that calls the Python callable.</summary>
    public Delegate Callback { get; }

    protected PythonCallableClosure(Delegate callback) => Callback = callback;

    public override string ToString() => Callback.Target?.ToString() ?? "<Python callable>";
}

/// <summary>
/// Emits, once per delegate type, the closure class of <see cref="PythonCallableClosure"/>.
/// Callers hold <see cref="DelegateFactory"/>'s emit lock (builders are not thread-safe).
/// </summary>
internal static class DelegateClosures
{
    // Guarded by DelegateFactory's emit lock: created on first use, then only read there.
    private static ModuleBuilder? _module;
    private static int _count;

    /// <summary>
    /// The factory of delegates whose Method has the delegate type's own signature, wrapping
    /// <paramref name="inner"/>'s delegates. A delegate type that an emitted assembly cannot
    /// name (not public, or from a collectible assembly) keeps <paramref name="inner"/>'s.
    /// </summary>
    public static Func<PyObjectRef, Delegate> WithOwnSignature(Type delegateType, Func<PyObjectRef, Delegate> inner)
    {
        if (!delegateType.IsVisible || delegateType.IsCollectible) return inner;
        Func<Delegate, Delegate> wrap = Emit(delegateType);
        return callable => wrap(inner(callable));
    }

    private static Func<Delegate, Delegate> Emit(Type delegateType)
    {
        _module ??= AssemblyBuilder.DefineDynamicAssembly(new AssemblyName("PyClrBridge.PythonCallables"), AssemblyBuilderAccess.Run)
            .DefineDynamicModule("PyClrBridge.PythonCallables");
        MethodInfo invoke = delegateType.GetMethod("Invoke")!;
        ParameterInfo[] ps = invoke.GetParameters();
        Type[] types = ps.Select(p => p.ParameterType).ToArray();
        TypeBuilder tb = _module.DefineType($"PyClrBridge.PythonCallables.Closure{++_count}",
            TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Class, typeof(PythonCallableClosure));
        FieldBuilder call = tb.DefineField("_call", delegateType, FieldAttributes.Private | FieldAttributes.InitOnly);

        ConstructorInfo baseCtor = typeof(PythonCallableClosure).GetConstructor(
            BindingFlags.Instance | BindingFlags.NonPublic, new[] { typeof(Delegate) })!;
        ConstructorBuilder ctor = tb.DefineConstructor(MethodAttributes.Public, CallingConventions.Standard, new[] { delegateType });
        ILGenerator il = ctor.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Call, baseCtor);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Stfld, call);
        il.Emit(OpCodes.Ret);

        // public R Invoke(T1 arg1, ...) => _call(arg1, ...);  (ref/out arguments pass through)
        MethodBuilder method = tb.DefineMethod("Invoke", MethodAttributes.Public | MethodAttributes.HideBySig, invoke.ReturnType, types);
        for (int i = 0; i < ps.Length; i++) method.DefineParameter(i + 1, ps[i].Attributes, ps[i].Name);
        il = method.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, call);
        for (int i = 0; i < ps.Length; i++) il.Emit(OpCodes.Ldarg, (short)(i + 1));
        il.Emit(OpCodes.Callvirt, invoke);
        il.Emit(OpCodes.Ret);

        // public static Delegate Create(Delegate d) => new D(new Closure((D)d).Invoke);
        MethodBuilder create = tb.DefineMethod("Create", MethodAttributes.Public | MethodAttributes.Static, typeof(Delegate), new[] { typeof(Delegate) });
        il = create.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Castclass, delegateType);
        il.Emit(OpCodes.Newobj, ctor);
        il.Emit(OpCodes.Ldftn, method);
        il.Emit(OpCodes.Newobj, delegateType.GetConstructor(new[] { typeof(object), typeof(IntPtr) })!);
        il.Emit(OpCodes.Ret);

        Type created = tb.CreateType();
        return created.GetMethod("Create")!.CreateDelegate<Func<Delegate, Delegate>>();
    }
}

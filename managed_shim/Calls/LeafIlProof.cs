using System;
using System.Collections.Generic;
using System.Reflection;
using System.Reflection.Emit;

namespace PyClrBridge.Shim;

/// <summary>One proof: the methods it reached and the types whose statics they touch. Reads
/// the IL of a member and of everything it calls, instruction by instruction, against the
/// rules of <see cref="LeafProof.Rules"/> (<see cref="LeafProof"/> runs it and prepares what it
/// reached).</summary>
internal sealed class LeafIlProof
{
    /// <summary>What one stack slot is known to hold: a non-null reference, byref or value
    /// (<c>NonNull</c>) and, for a receiver, its exact type (<c>Exact</c>).</summary>
    private readonly record struct Slot(bool NonNull, Type? Exact)
    {
        public static readonly Slot Unknown = new(false, null);

        public static Slot Meet(Slot a, Slot b) => new(a.NonNull && b.NonNull, a.Exact == b.Exact ? a.Exact : null);
    }

    private static readonly OpCode[] OneByte = new OpCode[0x100];
    private static readonly OpCode[] TwoByte = new OpCode[0x100];

    static LeafIlProof()
    {
        foreach (FieldInfo f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (f.GetValue(null) is not OpCode op) continue;
            ushort v = unchecked((ushort)op.Value);
            if (v < 0x100) OneByte[v] = op;
            else if ((v & 0xff00) == 0xfe00) TwoByte[v & 0xff] = op;
        }
    }

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
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>
/// Registry ids in argument values, and who drops them when no call takes them.
/// <para>
/// Python registers an object (a callable for a delegate parameter, an object for an
/// <c>object</c> parameter, a lazy iterable) when it converts an argument, writing the id into
/// the argument's value. The call takes each id it reads (a <c>PyObjectRef</c>, whose finalizer
/// hands it back). Two cases leave an id no one takes: an exception in Python after the
/// conversion and before the call (a signal handler raising at any signal check in between),
/// and a call that fails before it read every argument.
/// </para>
/// <para>
/// The rule that makes both safe: once a call has read its arguments, the argument values it
/// was given carry no id (<see cref="Settle"/> clears their kinds, at the call's end, whatever
/// the outcome). So at any moment outside a call, an id in an argument value was registered for
/// a call that has not taken it, and Python's except path hands every such id back in one
/// export (<see cref="Exports.AbandonValues"/>) with no signal check before it, whether the
/// exception came before the call (the ids are handed back) or after it (nothing is left).
/// </para>
/// </summary>
internal static unsafe class Unsent
{
    /// <summary><c>Extra</c> of a <see cref="ValueKind.PyObject"/> value .NET wrote (a result: its id
    /// is held by a <c>PyObjectRef</c>), so that a walk of a reused frame's slots never hands it
    /// back; Python writes 0 there for an argument it registers.</summary>
    public const int HeldResult = -3;

    /// <summary>True for the kinds whose value is, or points at values that may be, a registry id.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool CarriesIds(ValueKind kind) =>
        kind is ValueKind.PyObject or ValueKind.LazyIterable or ValueKind.List or ValueKind.Tuple or ValueKind.Map;

    /// <summary>Hands back every id in <paramref name="values"/> (and in the lists, tuples and
    /// maps they point at), then clears each such value: no later walk sees it again. The
    /// values are Python's, written for a call that has not read them: the blocks they point at
    /// are alive (the caller keeps them until the call returns or its except path ends).</summary>
    public static void Release(Value* values, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Value* v = values + i;
            switch (v->Kind)
            {
                case ValueKind.PyObject or ValueKind.LazyIterable:
                    // A Python object a call returned (a result slot of an earlier call, reused):
                    // held by a PyObjectRef, never handed back here.
                    if (v->Kind == ValueKind.PyObject && v->Extra == HeldResult) continue;
                    if (v->Payload != 0) PyObjects.ReleaseUntaken(v->Payload);
                    break;
                case ValueKind.List or ValueKind.Tuple:
                    if (v->Payload != 0) Release((Value*)v->Payload, v->Extra);
                    break;
                case ValueKind.Map:
                    if (v->Payload != 0) Release((Value*)v->Payload, 2 * v->Extra);
                    break;
                default:
                    continue;
            }
            v->Kind = ValueKind.Null;
            v->Payload = 0;
        }
    }

    /// <summary>At the end of a call that was given <paramref name="nargs"/> argument values:
    /// hands back the ids of the arguments after <paramref name="read"/> (the index of the last
    /// argument the call started to read; -1: none), which it never took, then clears the kind
    /// of every argument that carries ids, so that no except path in Python hands back an id
    /// this call took. (The items of a list argument whose conversion failed part-way are not
    /// handed back: which of them the call took is not recorded.)</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Settle(Value* args, int nargs, int read)
    {
        if (read + 1 < nargs) Release(args + read + 1, nargs - read - 1);
        for (int i = 0; i < nargs; i++)
        {
            if (CarriesIds(args[i].Kind))
            {
                args[i].Kind = ValueKind.Null;
                args[i].Payload = 0;
            }
        }
    }
}

public static unsafe partial class Exports
{
    /// <summary><see cref="AbandonValues"/> for the argument slots of a <see cref="Frame"/> (called
    /// through a bare prototype, as <c>InvokeFrame</c> is).</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int AbandonFrame(Frame* frame, int nargs)
    {
        if (frame == null || nargs <= 0) return 0;
        Unsent.Release((Value*)(frame + 1), nargs);
        return 0;
    }

    /// <summary>Python's except path for a call it converted arguments for: hands back the ids in
    /// <paramref name="values"/> that no call took (see <see cref="Unsent"/>). One call, with no
    /// signal check before it in Python; nothing to do once the call itself has run.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int AbandonValues(Value* values, int count)
    {
        if (values == null || count <= 0) return 0;
        Unsent.Release(values, count);
        return 0;
    }
}

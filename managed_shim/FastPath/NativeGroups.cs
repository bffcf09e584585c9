using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>
/// Native binding of method groups: a subtype of the Python <c>MethodGroup</c> made with
/// <c>PyType_FromSpecWithBases</c> whose only own slot is <c>tp_descr_get</c>, a C# method that
/// does what <c>MethodGroup.__get__</c> does (<c>pyclrbridge/proxies/members.py</c>): return the
/// group itself for a class-level access, else a new <c>BoundMethod</c> with <c>__self__</c>
/// and <c>_group</c> set. Everything else (calls, <c>[T]</c>, <c>.overloads</c>, repr, doc) is
/// inherited from <c>MethodGroup</c>, so the call itself takes today's path unchanged: no .NET
/// member runs here, only CPython's allocator and the two slots' own setters, so this serves
/// every method group, leaf or not, and the GIL policy is not involved.
/// <para>
/// Stable ABI only: the bound object comes from <c>BoundMethod</c>'s own <c>tp_alloc</c>, its
/// fields are set through the <c>__slots__</c> member descriptors' <c>tp_descr_set</c> (no
/// object is read or written at an offset), references are counted through the API. No shared
/// mutable state: the statics are written once, under <see cref="_lock"/>, before the type
/// exists, and only read by the slot.
/// </para>
/// </summary>
internal static unsafe class NativeGroups
{
    // Owner: _lock guards the one-time creation (the type and the statics below).
    private static readonly object _lock = new();
    private static IntPtr _type;

    private static IntPtr _boundType;
    internal static IntPtr SelfSlot, GroupSlot;
    private static delegate* unmanaged[Cdecl]<IntPtr, nint, IntPtr> _alloc;
    private static delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int> _selfSet, _groupSet;

    /// <summary>The subtype of <paramref name="groupType"/> (MethodGroup) that binds natively to
    /// <paramref name="boundType"/> (BoundMethod), whose <c>__self__</c> and <c>_group</c> slot
    /// descriptors are <paramref name="selfSlot"/> and <paramref name="groupSlot"/> (borrowed:
    /// the classes that hold them live as long as the module). Borrowed (the shim keeps its
    /// reference for the life of the process); the same type for every call. Needs <see cref="NativeMembers.Setup"/> first (PyApi bound).</summary>
    public static IntPtr TypeFor(IntPtr groupType, IntPtr boundType, IntPtr selfSlot, IntPtr groupSlot, IntPtr boundCall)
    {
        lock (_lock)
        {
            if (_type == IntPtr.Zero)
            {
                if (PyApi.PyType_FromSpecWithBases == null) throw new InvalidOperationException("native members are not set up");
                IntPtr alloc = PyApi.PyType_GetSlot(boundType, PyApi.Slot.Alloc);
                IntPtr selfSet = SlotOf(selfSlot, PyApi.Slot.DescrSet), groupSet = SlotOf(groupSlot, PyApi.Slot.DescrSet);
                IntPtr selfGet = SlotOf(selfSlot, PyApi.Slot.DescrGet), groupGet = SlotOf(groupSlot, PyApi.Slot.DescrGet);
                if (alloc == IntPtr.Zero || selfSet == IntPtr.Zero || groupSet == IntPtr.Zero || selfGet == IntPtr.Zero || groupGet == IntPtr.Zero)
                {
                    PyApi.PyErr_Clear();
                    throw new InvalidOperationException("BoundMethod has no tp_alloc or its slots no setter");
                }
                NativeCalls.MakeTypes(boundType, boundCall);
                NativeCalls.SelfGet = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)selfGet;
                NativeCalls.GroupGet = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)groupGet;
                _boundType = boundType; SelfSlot = selfSlot; GroupSlot = groupSlot;
                _alloc = (delegate* unmanaged[Cdecl]<IntPtr, nint, IntPtr>)alloc;
                _selfSet = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int>)selfSet;
                _groupSet = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int>)groupSet;
                RuntimeHelpers.PrepareMethod(typeof(NativeGroups).GetMethod(nameof(DescrGet),
                    System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.MethodHandle);
                // Not immutable: a forked child puts MethodGroup.__get__ back on it (Python only,
                // see proxies.native).
                _type = PyApi.SubType("pyclrbridge.proxies.native.NativeGroup", groupType, PyApi.DefaultFlags, stackalloc[]
                {
                    new PyTypeSlot { Slot = PyApi.Slot.DescrGet, Function = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)&DescrGet },
                });
            }
            return _type;
        }
    }

    private static IntPtr SlotOf(IntPtr descriptor, int slot)
    {
        IntPtr t = PyApi.TypeOf(descriptor);
        return PyApi.PyType_GetSlot(t, slot);
    }

    /// <summary><c>MethodGroup.__get__</c>: the group for <c>obj</c> None (or NULL), else
    /// <c>BoundMethod</c> with <c>__self__ = obj</c>, <c>_group = self</c>. Runs no Python
    /// code but CPython's allocator (which may collect: a finalizer may run, with this slot's
    /// references intact) and throws nothing.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static IntPtr DescrGet(IntPtr self, IntPtr obj, IntPtr type)
    {
        if (obj == IntPtr.Zero || obj == PyApi.None)
        {
            PyApi.Py_IncRef(self);
            return self;
        }
        // A group with a native call plan binds as NativeBound (a BoundMethod whose call is native).
        IntPtr bound = _alloc(NativeCalls.HasPlan(self) ? NativeCalls.BoundType : _boundType, 0);
        if (bound == IntPtr.Zero) return IntPtr.Zero;  // MemoryError is set
        if (_selfSet(SelfSlot, bound, obj) < 0 || _groupSet(GroupSlot, bound, self) < 0)
        {
            PyApi.Py_DecRef(bound);
            return IntPtr.Zero;
        }
        return bound;
    }
}

public static unsafe partial class Exports
{
    /// <summary>
    /// The native-binding subtype of MethodGroup (<see cref="NativeGroups"/>) in
    /// <paramref name="result"/> (borrowed: the shim keeps it). Called with the GIL held, after
    /// <see cref="NativeSetup"/>. 0 made; 1 with the exception in <paramref name="error"/>.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int NativeGroupType(IntPtr groupType, IntPtr boundType, IntPtr selfSlot, IntPtr groupSlot, IntPtr boundCall, IntPtr* result, Value* error)
    {
        try
        {
            *result = NativeGroups.TypeFor(groupType, boundType, selfSlot, groupSlot, boundCall);
            return 0;
        }
        catch (Exception e) { return Fail(e, error); }
    }
}

using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>
/// Every proxy's finalizer (<c>ClrObject.__del__</c>): <see cref="Exports.FreeProxy"/> is called
/// by ctypes with the dying proxy itself, reads its handle slot through the slot's own
/// descriptor and frees that handle. No Python code runs on the way (the slot's descriptor is
/// C, the value is checked to be an exact int before it is read), so no signal handler can cut
/// the finalizer short, and a proxy whose slot was never set (a signal landed between
/// allocation and the slot's store, or its construction failed) is freed silently: there is
/// nothing to free. Before this, ctypes read the slot through <c>_as_parameter_</c>, which
/// needed <c>ClrObject.__getattr__</c> to answer 0 for an empty slot, and that hook slowed
/// every attribute access of every proxy.
/// </summary>
internal static unsafe class ProxyFinalizer
{
    // Set once by Exports.ProxyFinalizerSetup at load, before any proxy exists (the finalizer is
    // installed after it); read-only afterwards, so no lock.
    private static delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr> _slotGet;
    private static delegate* unmanaged[Cdecl]<void> _errClear;
    private static delegate* unmanaged[Cdecl]<IntPtr, void> _decRef;
    private static delegate* unmanaged[Cdecl]<IntPtr, IntPtr> _typeOf;
    private static delegate* unmanaged[Cdecl]<IntPtr, int*, long> _asLong;
    private static IntPtr _slot, _intType;

    public static void SetApi(IntPtr slotGet, IntPtr slot, IntPtr errClear, IntPtr decRef, IntPtr typeOf, IntPtr asLong, IntPtr intType)
    {
        _slotGet = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)slotGet;
        _slot = slot;
        _errClear = (delegate* unmanaged[Cdecl]<void>)errClear;
        _decRef = (delegate* unmanaged[Cdecl]<IntPtr, void>)decRef;
        _typeOf = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr>)typeOf;
        _asLong = (delegate* unmanaged[Cdecl]<IntPtr, int*, long>)asLong;
        _intType = intType;
    }

    // Set once by Exports.ProxyFinalizerDescriptor at load (before the descriptor it makes is
    // installed as ClrObject.__del__); read-only afterwards, so no lock.
    private static delegate* unmanaged[Cdecl]<IntPtr, void> _incRef;
    private static IntPtr _none;

    /// <summary>A <c>method_descriptor</c> of <paramref name="ownerType"/> (ClrObject) named
    /// <c>__del__</c> whose C function is <see cref="Finalize"/>: CPython's finalizer slot finds
    /// it in the class, calls it with the dying proxy directly (a method descriptor is called
    /// unbound, no bound object is made) and the descriptor checks the proxy is a ClrObject. No
    /// ctypes call on the way: no argument conversion, no shared converter or result type whose
    /// reference count every dying proxy of every thread writes (free-threaded builds), no
    /// Python code. The method table is allocated for the life of the process (the descriptor
    /// points at it). A new reference, or zero (nothing made, no Python error left).</summary>
    public static IntPtr MakeDescriptor(IntPtr newMethod, IntPtr ownerType, IntPtr incRef, IntPtr none)
    {
        if (_slotGet == null) return IntPtr.Zero;  // ProxyFinalizerSetup first
        _incRef = (delegate* unmanaged[Cdecl]<IntPtr, void>)incRef;
        _none = none;
        var def = (PyMethodDefLayout*)NativeMemory.AllocZeroed((nuint)sizeof(PyMethodDefLayout));
        def->Name = NativeMembers.Utf8("__del__");
        def->Method = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr>)&Finalize;
        def->Flags = MethNoArgs;
        def->Doc = NativeMembers.Utf8("Frees the .NET object's handle when the proxy dies.");
        IntPtr descriptor = ((delegate* unmanaged[Cdecl]<IntPtr, PyMethodDefLayout*, IntPtr>)newMethod)(ownerType, def);
        if (descriptor == IntPtr.Zero) _errClear();
        return descriptor;
    }

    private const int MethNoArgs = 0x0004;  // METH_NOARGS: f(self, NULL)

    /// <summary>CPython's <c>PyMethodDef</c> (stable ABI): name, C function, flags, doc.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct PyMethodDefLayout
    {
        public byte* Name;
        public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr> Method;
        public int Flags;
        public byte* Doc;
    }

    /// <summary><c>ClrObject.__del__</c> (METH_NOARGS, called by CPython with the dying proxy):
    /// frees the handle in its slot, exactly as <see cref="Exports.FreeProxy"/>. Returns None
    /// (a new reference) and never leaves a Python error.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static IntPtr Finalize(IntPtr self, IntPtr unused)
    {
        try
        {
            long handle = HandleOf(self);
            if (handle != 0 && !Exports.FreesRefusedNow) Handles.Free(handle);
        }
        catch (Exception)
        {
            // nothing may escape a finalizer into Python; Handles.Free does not throw
        }
        _incRef(_none);
        return _none;
    }

    /// <summary>The handle in <paramref name="proxy"/>'s slot; 0 (no Python error left) when the
    /// slot is empty or holds anything but an exact int.</summary>
    public static long HandleOf(IntPtr proxy)
    {
        if (_slotGet == null || proxy == IntPtr.Zero) return 0;
        IntPtr value = _slotGet(_slot, proxy, IntPtr.Zero);
        if (value == IntPtr.Zero)
        {
            _errClear();  // AttributeError: the slot was never set
            return 0;
        }
        IntPtr type = _typeOf(value);
        _decRef(type);  // value holds its type: not the last reference
        long handle = 0;
        if (type == _intType)
        {
            int overflow;
            handle = _asLong(value, &overflow);  // an exact int: no Python code, no error
            if (overflow != 0 || handle < 0) handle = 0;
        }
        _decRef(value);  // at most frees an int
        return handle;
    }
}

public static unsafe partial class Exports
{
    /// <summary>The C-API functions and objects <see cref="FreeProxy"/> needs: the handle slot's
    /// <c>tp_descr_get</c> and the slot descriptor, PyErr_Clear, Py_DecRef, PyObject_Type,
    /// PyLong_AsLongLongAndOverflow and the int type. Once, at load. 0 done, 1 refused.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ProxyFinalizerSetup(long slotGet, long slot, long errClear, long decRef, long typeOf, long asLong, long intType)
    {
        if (slotGet == 0 || slot == 0 || errClear == 0 || decRef == 0 || typeOf == 0 || asLong == 0 || intType == 0) return 1;
        ProxyFinalizer.SetApi((IntPtr)slotGet, (IntPtr)slot, (IntPtr)errClear, (IntPtr)decRef, (IntPtr)typeOf, (IntPtr)asLong, (IntPtr)intType);
        return 0;
    }

    /// <summary>The native <c>ClrObject.__del__</c> (see <see cref="ProxyFinalizer.MakeDescriptor"/>):
    /// <paramref name="newMethod"/> is <c>PyDescr_NewMethod</c>, <paramref name="ownerType"/>
    /// ClrObject, then <c>Py_IncRef</c> and None. After <see cref="ProxyFinalizerSetup"/>. The
    /// descriptor (a new reference) or 0.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static long ProxyFinalizerDescriptor(long newMethod, long ownerType, long incRef, long none)
    {
        if (newMethod == 0 || ownerType == 0 || incRef == 0 || none == 0) return 0;
        try
        {
            return (long)ProxyFinalizer.MakeDescriptor((IntPtr)newMethod, (IntPtr)ownerType, (IntPtr)incRef, (IntPtr)none);
        }
        catch (Exception)
        {
            return 0;  // the ctypes finalizer stays
        }
    }

    internal static bool FreesRefusedNow => FreesRefused;

    /// <summary>A proxy's finalizer, called by ctypes (a <c>PYFUNCTYPE</c>: the GIL is held) with
    /// the dying proxy: frees the handle in its slot (see <see cref="ProxyFinalizer"/>). Frees
    /// nothing for an empty slot, in a forked child or once Shutdown ran, as FreeHandle.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int FreeProxy(IntPtr proxy)
    {
        try
        {
            long handle = ProxyFinalizer.HandleOf(proxy);
            return handle == 0 || FreesRefused ? 0 : Handles.Free(handle) ? 1 : 0;
        }
        catch (Exception)
        {
            return 0;  // nothing may escape a finalizer into Python; Handles.Free does not throw
        }
    }
}

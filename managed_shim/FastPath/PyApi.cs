using System;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>
/// The functions of CPython's stable C-API that native members (<see cref="NativeMembers"/>)
/// call, and the few interpreter objects they compare against. Python hands the addresses over
/// once (<c>pyclrbridge/proxies/native.py</c>, from <c>ctypes.pythonapi</c>), in the order of
/// <see cref="Names"/>. Only stable-ABI functions; no object is ever read at a fixed offset:
/// types are compared through <c>PyObject_Type</c>, references counted through
/// <c>Py_IncRef</c>/<c>Py_DecRef</c>.
/// </summary>
internal static unsafe class PyApi
{
    /// <summary>The order of the function addresses Python passes (mirrored by native.py).</summary>
    public static readonly string[] Names =
    {
        "PyType_FromSpec", "PyType_GenericAlloc", "PyType_GetSlot", "PyLong_FromLongLong",
        "PyLong_FromUnsignedLongLong", "PyLong_AsLongLongAndOverflow", "PyFloat_FromDouble", "PyFloat_AsDouble",
        "PyBool_FromLong", "PyUnicode_DecodeUTF16", "PyUnicode_AsEncodedString", "PyUnicode_FromString",
        "PyBytes_AsString", "PyBytes_Size", "PyObject_Type", "PyObject_GetAttr", "PyObject_Repr",
        "PyObject_CallObject", "PyTuple_New", "PyTuple_SetItem", "Py_IncRef", "Py_DecRef", "PyErr_Clear",
        "PyErr_Occurred", "PyErr_SetString", "PyObject_IsTrue", "PyEval_SaveThread", "PyEval_RestoreThread",
        "PyType_FromSpecWithBases", "PyTuple_Size", "PyTuple_GetItem", "PyObject_Call",
    };

    /// <summary>Then these objects, by address (borrowed: they live as long as the interpreter,
    /// or as the module that holds them): None, the exact types a set takes, RuntimeError, the
    /// slot descriptor of <c>ClrObject._h</c>, and the Python function that raises the .NET
    /// exception parked for this thread, and an empty Python class whose <c>tp_traverse</c> (CPython's
    /// generic one for heap types) the native types that are not subtypes of a Python class use
    /// (<see cref="GcSlots"/>).</summary>
    public static readonly string[] Objects =
    {
        "None", "int", "float", "bool", "str", "RuntimeError", "ClrObject._h", "raise_pending", "Traversed",
    };

    // Written once by NativeMembers.Setup under NativeMembers' lock, before any native member
    // exists (the members are made after it, on the thread that saw it finish); read-only after.
    public static delegate* unmanaged[Cdecl]<PyTypeSpec*, IntPtr> PyType_FromSpec;
    public static delegate* unmanaged[Cdecl]<IntPtr, nint, IntPtr> PyType_GenericAlloc;
    public static delegate* unmanaged[Cdecl]<IntPtr, int, IntPtr> PyType_GetSlot;
    public static delegate* unmanaged[Cdecl]<long, IntPtr> PyLong_FromLongLong;
    public static delegate* unmanaged[Cdecl]<ulong, IntPtr> PyLong_FromUnsignedLongLong;
    public static delegate* unmanaged[Cdecl]<IntPtr, int*, long> PyLong_AsLongLongAndOverflow;
    public static delegate* unmanaged[Cdecl]<double, IntPtr> PyFloat_FromDouble;
    public static delegate* unmanaged[Cdecl]<IntPtr, double> PyFloat_AsDouble;
    public static delegate* unmanaged[Cdecl]<CLong, IntPtr> PyBool_FromLong;
    public static delegate* unmanaged[Cdecl]<byte*, nint, byte*, int*, IntPtr> PyUnicode_DecodeUTF16;
    public static delegate* unmanaged[Cdecl]<IntPtr, byte*, byte*, IntPtr> PyUnicode_AsEncodedString;
    public static delegate* unmanaged[Cdecl]<byte*, IntPtr> PyUnicode_FromString;
    public static delegate* unmanaged[Cdecl]<IntPtr, byte*> PyBytes_AsString;
    public static delegate* unmanaged[Cdecl]<IntPtr, nint> PyBytes_Size;
    public static delegate* unmanaged[Cdecl]<IntPtr, IntPtr> PyObject_Type;
    public static delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr> PyObject_GetAttr;
    public static delegate* unmanaged[Cdecl]<IntPtr, IntPtr> PyObject_Repr;
    public static delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr> PyObject_CallObject;
    public static delegate* unmanaged[Cdecl]<nint, IntPtr> PyTuple_New;
    public static delegate* unmanaged[Cdecl]<IntPtr, nint, IntPtr, int> PyTuple_SetItem;
    public static delegate* unmanaged[Cdecl]<IntPtr, void> Py_IncRef;
    public static delegate* unmanaged[Cdecl]<IntPtr, void> Py_DecRef;
    public static delegate* unmanaged[Cdecl]<void> PyErr_Clear;
    public static delegate* unmanaged[Cdecl]<IntPtr> PyErr_Occurred;
    public static delegate* unmanaged[Cdecl]<IntPtr, byte*, void> PyErr_SetString;
    public static delegate* unmanaged[Cdecl]<IntPtr, int> PyObject_IsTrue;
    public static delegate* unmanaged[Cdecl]<IntPtr> PyEval_SaveThread;
    public static delegate* unmanaged[Cdecl]<IntPtr, void> PyEval_RestoreThread;
    public static delegate* unmanaged[Cdecl]<PyTypeSpec*, IntPtr, IntPtr> PyType_FromSpecWithBases;
    public static delegate* unmanaged[Cdecl]<IntPtr, nint> PyTuple_Size;
    public static delegate* unmanaged[Cdecl]<IntPtr, nint, IntPtr> PyTuple_GetItem;
    public static delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr> PyObject_Call;

    // The same functions called without the GC transition: only where they provably run no
    // Python code and cannot allocate a tracked object (so no collection, no __del__ that could
    // call .NET back): reading an exact int, an object's type, and dropping a reference that
    // cannot be the last one of anything but an exact int.
    public static delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int*, long> LongValueQuick;
    public static delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, IntPtr> TypeQuick;
    public static delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, void> DecRefQuick;

    public static IntPtr None, IntType, FloatType, BoolType, StrType, RuntimeError, HandleSlot, RaisePending, Traversed;

    /// <summary><c>tp_descr_get</c> of the <c>_h</c> slot descriptor: reads a proxy's handle
    /// without attribute lookup (a new reference, or NULL with an error).</summary>
    public static delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr> HandleGet;

    public static void Bind(IntPtr* functions, IntPtr* objects)
    {
        int i = 0;
        PyType_FromSpec = (delegate* unmanaged[Cdecl]<PyTypeSpec*, IntPtr>)functions[i++];
        PyType_GenericAlloc = (delegate* unmanaged[Cdecl]<IntPtr, nint, IntPtr>)functions[i++];
        PyType_GetSlot = (delegate* unmanaged[Cdecl]<IntPtr, int, IntPtr>)functions[i++];
        PyLong_FromLongLong = (delegate* unmanaged[Cdecl]<long, IntPtr>)functions[i++];
        PyLong_FromUnsignedLongLong = (delegate* unmanaged[Cdecl]<ulong, IntPtr>)functions[i++];
        PyLong_AsLongLongAndOverflow = (delegate* unmanaged[Cdecl]<IntPtr, int*, long>)functions[i++];
        PyFloat_FromDouble = (delegate* unmanaged[Cdecl]<double, IntPtr>)functions[i++];
        PyFloat_AsDouble = (delegate* unmanaged[Cdecl]<IntPtr, double>)functions[i++];
        PyBool_FromLong = (delegate* unmanaged[Cdecl]<CLong, IntPtr>)functions[i++];
        PyUnicode_DecodeUTF16 = (delegate* unmanaged[Cdecl]<byte*, nint, byte*, int*, IntPtr>)functions[i++];
        PyUnicode_AsEncodedString = (delegate* unmanaged[Cdecl]<IntPtr, byte*, byte*, IntPtr>)functions[i++];
        PyUnicode_FromString = (delegate* unmanaged[Cdecl]<byte*, IntPtr>)functions[i++];
        PyBytes_AsString = (delegate* unmanaged[Cdecl]<IntPtr, byte*>)functions[i++];
        PyBytes_Size = (delegate* unmanaged[Cdecl]<IntPtr, nint>)functions[i++];
        PyObject_Type = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr>)functions[i++];
        PyObject_GetAttr = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr>)functions[i++];
        PyObject_Repr = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr>)functions[i++];
        PyObject_CallObject = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr>)functions[i++];
        PyTuple_New = (delegate* unmanaged[Cdecl]<nint, IntPtr>)functions[i++];
        PyTuple_SetItem = (delegate* unmanaged[Cdecl]<IntPtr, nint, IntPtr, int>)functions[i++];
        Py_IncRef = (delegate* unmanaged[Cdecl]<IntPtr, void>)functions[i++];
        Py_DecRef = (delegate* unmanaged[Cdecl]<IntPtr, void>)functions[i++];
        PyErr_Clear = (delegate* unmanaged[Cdecl]<void>)functions[i++];
        PyErr_Occurred = (delegate* unmanaged[Cdecl]<IntPtr>)functions[i++];
        PyErr_SetString = (delegate* unmanaged[Cdecl]<IntPtr, byte*, void>)functions[i++];
        PyObject_IsTrue = (delegate* unmanaged[Cdecl]<IntPtr, int>)functions[i++];
        PyEval_SaveThread = (delegate* unmanaged[Cdecl]<IntPtr>)functions[i++];
        PyEval_RestoreThread = (delegate* unmanaged[Cdecl]<IntPtr, void>)functions[i++];
        PyType_FromSpecWithBases = (delegate* unmanaged[Cdecl]<PyTypeSpec*, IntPtr, IntPtr>)functions[i++];
        PyTuple_Size = (delegate* unmanaged[Cdecl]<IntPtr, nint>)functions[i++];
        PyTuple_GetItem = (delegate* unmanaged[Cdecl]<IntPtr, nint, IntPtr>)functions[i++];
        PyObject_Call = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)functions[i++];
        LongValueQuick = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int*, long>)PyLong_AsLongLongAndOverflow;
        TypeQuick = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, IntPtr>)PyObject_Type;
        DecRefQuick = (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, void>)Py_DecRef;
        int k = 0;
        None = objects[k++];
        IntType = objects[k++];
        FloatType = objects[k++];
        BoolType = objects[k++];
        StrType = objects[k++];
        RuntimeError = objects[k++];
        HandleSlot = objects[k++];
        RaisePending = objects[k++];
        Traversed = objects[k++];
        IntPtr slotType = PyObject_Type(HandleSlot);
        HandleGet = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, IntPtr>)PyType_GetSlot(slotType, Slot.DescrGet);
        Py_DecRef(slotType);
        if (HandleGet == null) throw new InvalidOperationException("the _h slot descriptor has no tp_descr_get");
    }

    /// <summary>What makes a type of ours garbage-collected: the flag, and CPython's generic
    /// <c>tp_traverse</c> for heap types (taken from a Python class; with no members and no
    /// dict it visits only the type), so the collector never runs .NET code (not in a forked
    /// child either). <c>tp_dealloc</c> and <c>tp_free</c> CPython picks itself for such a type.
    /// Needed where a free-threaded build defers reference counts: only a tracked object can
    /// have a deferred count (<c>pyclrbridge/proxies/native.py</c> <c>share</c>).</summary>
    public static PyTypeSlot GcTraverse => new() { Slot = Slot.Traverse, Function = (void*)PyType_GetSlot(Traversed, Slot.Traverse) };

    /// <summary>A new heap type <paramref name="name"/> subclassing <paramref name="baseType"/> (zero: object)
    /// with <paramref name="flags"/> and <paramref name="slots"/> (<c>PyType_FromSpecWithBases</c>).
    /// The spec, its slots and its name are allocated for the life of the process (3.11 keeps
    /// pointing at the name); the type is a reference the caller keeps. Throws, with the Python
    /// error cleared, when CPython refuses.</summary>
    internal static IntPtr SubType(string name, IntPtr baseType, uint flags, ReadOnlySpan<PyTypeSlot> slots)
    {
        var table = (PyTypeSlot*)NativeMemory.AllocZeroed((nuint)((slots.Length + 1) * sizeof(PyTypeSlot)));
        slots.CopyTo(new Span<PyTypeSlot>(table, slots.Length));  // the zeroed last entry ends the table
        var spec = (PyTypeSpec*)NativeMemory.AllocZeroed((nuint)sizeof(PyTypeSpec));
        spec->Name = NativeMembers.Utf8(name);
        spec->Flags = flags;
        spec->Slots = table;
        IntPtr type = IntPtr.Zero;
        if (baseType == IntPtr.Zero) type = PyType_FromSpecWithBases(spec, IntPtr.Zero);
        else if (PyTuple_New(1) is var bases && bases != IntPtr.Zero)
        {
            Py_IncRef(baseType);
            PyTuple_SetItem(bases, 0, baseType);  // steals the reference just taken
            type = PyType_FromSpecWithBases(spec, bases);
            Py_DecRef(bases);
        }
        if (type == IntPtr.Zero)
        {
            PyErr_Clear();
            throw new InvalidOperationException($"PyType_FromSpecWithBases failed for {name}");
        }
        return type;
    }

    /// <summary>The type of <paramref name="o"/> (a borrowed pointer: compared, never used).</summary>
    public static IntPtr TypeOf(IntPtr o)
    {
        IntPtr t = PyObject_Type(o);
        Py_DecRef(t);  // the type outlives the call: o holds a reference to it
        return t;
    }

    /// <summary>Sets RuntimeError with <paramref name="message"/> (ASCII).</summary>
    public static void SetError(string message)
    {
        byte* text = stackalloc byte[message.Length + 1];
        for (int i = 0; i < message.Length; i++) text[i] = (byte)(message[i] < 128 ? message[i] : '?');
        text[message.Length] = 0;
        PyErr_SetString(RuntimeError, text);
    }

    /// <summary>Slot ids of <c>typeslots.h</c> (part of the stable ABI).</summary>
    public static class Slot
    {
        public const int Alloc = 47, Call = 50, DescrGet = 54, DescrSet = 55, GetAttro = 58, Repr = 66, Traverse = 71;
    }

    /// <summary><c>Py_TPFLAGS_*</c> bits (stable ABI).</summary>
    public const uint DefaultFlags = 1u << 18, MethodDescriptor = 1u << 17, HaveGc = 1u << 14, ImmutableType = 1u << 8, DisallowInstantiation = 1u << 7;
}

/// <summary><c>PyType_Slot</c>: the only C structs the fast path lays out, with <see cref="PyTypeSpec"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct PyTypeSlot
{
    public int Slot;
    public void* Function;
}

/// <summary><c>PyType_Spec</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct PyTypeSpec
{
    public byte* Name;
    public int BasicSize;
    public int ItemSize;
    public uint Flags;
    public PyTypeSlot* Slots;
}

using System;
using System.Runtime.InteropServices;

namespace PyClrBridge.Shim;

/// <summary>
/// The Python object of an emitted type's instance, as that instance holds it (its one field).
/// Python lets the object go only when the instance itself is gone, after every finalizer
/// that could call into it ran, its own included: .NET runs finalizers in no order, so a
/// plain <see cref="PyObjectRef"/> (whose finalizer releases the Python object) could be
/// finalized before the instance's own finalizer (<c>Component.Finalize</c> calling a Python
/// <c>Dispose(bool)</c>) reached Python. This finalizer checks the instance through a weak
/// handle that tracks resurrection: while the instance still exists (waiting for its
/// finalizer, or resurrected by one) it registers itself again and looks at the next
/// collection; the runtime clears that handle only once the instance is really collected,
/// and only then is the Python object queued for release.
/// </summary>
public sealed class PythonSelfRef
{
    // The handle is freed by the finalizer once the owner is gone (then never read again);
    // only the finalizer thread touches it after construction.
    private GCHandle _owner;

    internal PythonSelfRef(long id, object owner)
    {
        Ref = PyObjects.Take(id);
        GC.SuppressFinalize(Ref);  // released by this object's finalizer instead
        _owner = GCHandle.Alloc(owner, GCHandleType.WeakTrackResurrection);
    }

    public PyObjectRef Ref { get; }

    ~PythonSelfRef()
    {
        if (_owner.IsAllocated && _owner.Target != null)
        {
            GC.ReRegisterForFinalize(this);  // the instance can still run code: keep its Python object
            return;
        }
        if (_owner.IsAllocated) _owner.Free();
        PyObjects.QueueRelease(Ref.Id);
    }
}

/// <summary>What emitted types call; public because the emitted assembly sees only public members.</summary>
public static class PythonDerivedSupport
{
    /// <summary>
    /// Called first by every emitted constructor: the Python object this .NET object is. Python
    /// construction left it pending on this thread; construction from .NET (Activator,
    /// <c>new()</c> constraints...) asks Python for a new instance of the class (without
    /// running its <c>__init__</c>: the .NET constructor is what ran).
    /// </summary>
    public static PythonSelfRef Bind(object self)
    {
        long id = Derived.Pending;
        Derived.Pending = 0;
        if (id == 0)
        {
            object?[] made = Callbacks.Invoke(Derived.Trampoline,
                new object?[] { null, "new:", TypeCatalog.IdOf(self.GetType()) }, typeof(long), Type.EmptyTypes);
            id = (long)made[0]!;
        }
        return new PythonSelfRef(id, self);
    }

    /// <summary>The Python object a <see cref="PythonSelfRef"/> holds (null for an instance no constructor ran for).</summary>
    public static PyObjectRef? RefOf(PythonSelfRef? self) => self?.Ref;

    /// <summary>Called by every emitted override: runs the Python member, returns [result, byref values...].</summary>
    public static object?[] Dispatch(object self, int slot, object?[] args)
    {
        Derived.Slot s = Derived.SlotAt(slot);
        PyObjectRef trampoline = Derived.Trampoline;
        var full = new object?[args.Length + 2];
        full[0] = self;
        full[1] = s.PythonName;
        Array.Copy(args, 0, full, 2, args.Length);
        return Callbacks.Invoke(trampoline, full, s.ReturnType, s.ByRefTypes);
    }

    /// <summary><see cref="Dispatch"/> for a generic method whose result type is a type parameter:
    /// the result is converted to <paramref name="returnType"/>, the type of this instantiation.</summary>
    public static object?[] DispatchAs(object self, int slot, object?[] args, Type returnType)
    {
        Derived.Slot s = Derived.SlotAt(slot);
        var full = new object?[args.Length + 2];
        full[0] = self;
        full[1] = s.PythonName;
        Array.Copy(args, 0, full, 2, args.Length);
        return Callbacks.Invoke(Derived.Trampoline, full, returnType, s.ByRefTypes);
    }

}

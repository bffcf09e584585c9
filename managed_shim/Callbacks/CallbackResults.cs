using System;
using System.Collections.Generic;

namespace PyClrBridge.Shim;

internal static unsafe partial class Callbacks
{
    /// <summary>
    /// Converts a callback's results (<paramref name="returnType"/>, then the by-ref values).
    /// When a conversion fails, the Python objects registered in the results that no
    /// PyObjectRef took (the other items of a list or dict .NET refused, the values after the
    /// one that failed) are handed back to Python: nothing else would ever release them. (Also
    /// for a value stored into an array element, which Python does not check before.)
    /// Not when a callback ran on this thread during the conversion (a Python key's
    /// GetHashCode): Python then keeps the result's memory no longer, so its ids are not read
    /// again and stay registered (a leak, never a release of an id read from freed memory).
    /// </summary>
    public static void ConvertResults(Value* results, object?[] converted, Type returnType, Type[] byRefTypes)
    {
        int first = returnType == typeof(void) ? 1 : 0;
        int n = 1 + byRefTypes.Length;
        if (!CarriesIds(results + first, n - first))
        {
            if (first == 0) converted[0] = Values.ToClr(results[0], returnType);
            for (int i = 0; i < byRefTypes.Length; i++) converted[1 + i] = Values.ToClr(results[1 + i], byRefTypes[i]);
            return;
        }
        List<long>? saved = PyObjects.BeginTaking();
        bool done = false;
        try
        {
            if (first == 0) converted[0] = Values.ToClr(results[0], returnType);
            for (int i = 0; i < byRefTypes.Length; i++) converted[1 + i] = Values.ToClr(results[1 + i], byRefTypes[i]);
            done = true;
        }
        finally
        {
            List<long> taken = PyObjects.EndTaking(saved);
            if (!done && !taken.Contains(0)) ReleaseUntaken(results + first, n - first, new HashSet<long>(taken));
        }
    }

    /// <summary>True when a value among <paramref name="values"/> is, or may hold, a registry id.</summary>
    private static bool CarriesIds(Value* values, int count)
    {
        for (int i = 0; i < count; i++)
            if (values[i].Kind is ValueKind.PyObject or ValueKind.LazyIterable or ValueKind.List or ValueKind.Tuple or ValueKind.Map)
                return true;
        return false;
    }

    /// <summary>Hands back the ids in <paramref name="values"/> (and the lists, tuples and dicts
    /// in them) that are not in <paramref name="taken"/>. Ids are unique per registration, so an
    /// id taken is never released here as well.</summary>
    private static void ReleaseUntaken(Value* values, int count, HashSet<long> taken)
    {
        for (int i = 0; i < count; i++)
        {
            Value* v = values + i;
            switch (v->Kind)
            {
                case ValueKind.PyObject or ValueKind.LazyIterable:
                    if (v->Payload != 0 && !taken.Contains(v->Payload)) PyObjects.ReleaseUntaken(v->Payload);
                    break;
                case ValueKind.List or ValueKind.Tuple:
                    ReleaseUntaken((Value*)v->Payload, v->Extra, taken);
                    break;
                case ValueKind.Map:
                    ReleaseUntaken((Value*)v->Payload, 2 * v->Extra, taken);
                    break;
            }
        }
    }
}

/// <summary>Which registry ids a callback's result conversion took (see <see cref="Callbacks.ConvertResults"/>).</summary>
internal static partial class PyObjects
{
    // The ids a callback's result conversion on this thread has taken so far (null: none is
    // being watched): see Callbacks.ConvertResults. Thread-static, so no lock; a callback run
    // while converting (a key's GetHashCode calling Python) watches its own and restores this.
    [ThreadStatic] private static List<long>? _taking;

    /// <summary>True while a callback's result conversion runs on this thread (a callback
    /// entered now must leave the memory of that result alone).</summary>
    public static bool Converting => _taking != null;

    /// <summary>Take for a value being converted: the id is logged (before it is taken, so a
    /// logged id is never released behind a PyObjectRef's back) when a result conversion watches.</summary>
    private static PyObjectRef TakeValue(long id)
    {
        _taking?.Add(id);
        return Take(id);
    }

    /// <summary>Starts logging the ids taken on this thread; returns the log it replaces (pass it to <see cref="EndTaking"/>).</summary>
    public static List<long>? BeginTaking()
    {
        List<long>? saved = _taking;
        _taking = new List<long>();
        return saved;
    }

    /// <summary>Stops the log <see cref="BeginTaking"/> started (restoring <paramref name="saved"/>) and returns it.</summary>
    public static List<long> EndTaking(List<long>? saved)
    {
        List<long> log = _taking ?? new List<long>();
        _taking = saved;
        return log;
    }

    /// <summary>A callback enters Python on this thread: a result conversion watching here
    /// learns (a 0 in its log: no id is 0) that Python ran meanwhile, and may have let go of
    /// the memory the result's values point at (see Callbacks.ConvertResults).</summary>
    public static void NoteCallback() => _taking?.Add(0);

    /// <summary>Hands back an id .NET was given but never took (no PyObjectRef holds it): Python
    /// drops it at its next drain, as it does a collected PyObjectRef's (not counted in <see cref="Live"/>).</summary>
    public static void ReleaseUntaken(long id)
    {
        if (!Callbacks.IsClosed) _released.Enqueue(id);
    }
}

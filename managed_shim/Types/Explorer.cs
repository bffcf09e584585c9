using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace PyClrBridge.Shim;

/// <summary>Read-only reflection the explorer CLI and the stub writer need beyond the member
/// tables: constructors of open generic types (the tables omit them: they cannot be invoked).</summary>
public static unsafe partial class Exports
{
    /// <summary>JSON array of the public constructors of a type, generic definitions included.
    /// Ids are 0: these entries describe, they are never invoked.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int DescribeConstructors(int typeId, Value* result, Value* error)
    {
        try
        {
            Type t = TypeCatalog.TypeOf(typeId);
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream))
            {
                w.WriteStartArray();
                if (!t.IsAbstract && !t.IsInterface)
                {
                    foreach (ConstructorInfo c in t.GetConstructors(BindingFlags.Public | BindingFlags.Instance))
                        WriteDescribedCtor(w, c);
                }
                w.WriteEndArray();
            }
            return Json(Encoding.UTF8.GetString(stream.ToArray()), result);
        }
        catch (Exception e) { return Fail(e, error); }
    }

    private static void WriteDescribedCtor(Utf8JsonWriter w, ConstructorInfo c)
    {
        w.WriteStartObject();
        w.WriteNumber("id", 0);
        w.WriteString("name", ".ctor");
        w.WriteBoolean("static", true);
        w.WriteString("sig", c.ToString());
        w.WriteStartArray("params");
        foreach (ParameterInfo p in c.GetParameters())
        {
            Type pt = p.ParameterType;
            w.WriteStartObject();
            w.WriteString("name", p.Name ?? $"arg{p.Position}");
            w.WriteNumber("byref", pt.IsByRef ? (p.IsOut ? 2 : 1) : 0);
            w.WriteNumber("type", TypeCatalog.IdOf(pt.IsByRef ? pt.GetElementType()! : pt));
            bool optional = p.IsOptional || p.HasDefaultValue;
            w.WriteBoolean("optional", optional);
            if (optional && p.HasDefaultValue) w.WriteString("default", Signatures.Literal(p.DefaultValue));
            w.WriteBoolean("params", p.IsDefined(typeof(ParamArrayAttribute), false));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("genericParams");
        w.WriteEndArray();
        w.WriteEndObject();
    }
}

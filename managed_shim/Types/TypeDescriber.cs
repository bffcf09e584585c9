using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace PyClrBridge.Shim;

/// <summary>
/// Describes a type to Python as JSON: <see cref="Info"/> (identity, shape, relations) and
/// <see cref="Members"/> (the public member table Python builds a proxy class from).
/// Each text is built once per type.
/// </summary>
internal static class TypeDescriber
{
    // Concurrent with Lazy values: each description is built exactly once even when many
    // threads ask for a new type at the same moment.
    private static readonly ConcurrentDictionary<Type, Lazy<string>> _info = new();
    private static readonly ConcurrentDictionary<Type, Lazy<string>> _members = new();

    private const BindingFlags Public = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.FlattenHierarchy;
    private const BindingFlags NonPublic = BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.FlattenHierarchy;

    /// <summary>protected or protected internal: what a subclass in another assembly reaches (private protected does not).</summary>
    private static bool Protected(MethodBase? m) => m != null && (m.IsFamily || m.IsFamilyOrAssembly);

    private static bool Protected(FieldInfo f) => f.IsFamily || f.IsFamilyOrAssembly;

    public static string Info(Type t) => _info.GetOrAdd(t, k => new Lazy<string>(() => BuildInfo(k))).Value;
    public static string Members(Type t) => _members.GetOrAdd(t, k => new Lazy<string>(() => BuildMembers(k))).Value;

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream)) body(w);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string KindOf(Type t)
    {
        if (t.IsGenericParameter) return "generic-param";
        if (t.IsArray) return "array";
        if (t.IsByRef) return "byref";
        if (t.IsPointer) return "pointer";
        if (t.IsEnum) return "enum";
        if (t.IsInterface) return "interface";
        if (typeof(Delegate).IsAssignableFrom(t) && t != typeof(Delegate) && t != typeof(MulticastDelegate)) return "delegate";
        if (t.IsValueType) return "struct";
        return "class";
    }

    private static string BuildInfo(Type t) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("id", TypeCatalog.IdOf(t));
        w.WriteString("name", t.Name);
        w.WriteString("fullName", t.FullName ?? t.Name);
        w.WriteString("namespace", t.Namespace ?? "");
        w.WriteString("assembly", t.Assembly.GetName().Name);
        w.WriteString("display", Signatures.TypeName(t));
        w.WriteString("kind", KindOf(t));
        w.WriteString("typeCode", t.IsEnum ? "Enum" : Type.GetTypeCode(t).ToString());
        w.WriteBoolean("valueType", t.IsValueType);
        w.WriteBoolean("abstract", t.IsAbstract && !t.IsSealed);
        w.WriteBoolean("static", t.IsAbstract && t.IsSealed);
        w.WriteBoolean("public", t.IsPublic || t.IsNestedPublic);
        w.WriteBoolean("visible", t.IsVisible || t.IsGenericParameter);
        w.WriteBoolean("genericDef", t.IsGenericTypeDefinition);
        w.WriteBoolean("open", t.ContainsGenericParameters);
        if (t.IsGenericType && !t.IsGenericTypeDefinition)
            w.WriteNumber("genericDefId", TypeCatalog.IdOf(t.GetGenericTypeDefinition()));
        w.WriteStartArray("genericArgs");
        if (t.IsGenericType) foreach (Type a in t.GetGenericArguments()) w.WriteNumberValue(TypeCatalog.IdOf(a));
        w.WriteEndArray();
        if (t.IsGenericParameter)
        {
            w.WriteNumber("position", t.GenericParameterPosition);
            w.WriteBoolean("methodParam", t.IsGenericMethodParameter);
        }
        if (t.BaseType != null && !t.IsInterface) w.WriteNumber("base", TypeCatalog.IdOf(t.BaseType));
        w.WriteStartArray("interfaces");
        if (!t.IsGenericParameter)
            foreach (Type i in t.GetInterfaces())
                if (i.IsPublic || i.IsNestedPublic) w.WriteNumberValue(TypeCatalog.IdOf(i));
        w.WriteEndArray();
        if (t.HasElementType) w.WriteNumber("element", TypeCatalog.IdOf(t.GetElementType()!));
        if (t.IsArray) w.WriteNumber("rank", t.GetArrayRank());
        Type? nullable = Nullable.GetUnderlyingType(t);
        if (nullable != null) w.WriteNumber("nullableOf", TypeCatalog.IdOf(nullable));
        if (t.IsNested && t.DeclaringType != null) w.WriteNumber("declaring", TypeCatalog.IdOf(t.DeclaringType));
        if (KindOf(t) == "delegate" && t.GetMethod("Invoke") is MethodInfo invoke && invoke.ReturnType != typeof(void))
            w.WriteNumber("invokeReturn", TypeCatalog.IdOf(invoke.ReturnType));  // TResult of an open Func<..., TResult> too
        if (!typeof(System.Collections.IEnumerable).IsAssignableFrom(t) && EnumeratorPattern.Of(t) != null)
            w.WriteBoolean("enumerablePattern", true);  // foreach works through a public GetEnumerator()
        if (t.IsEnum)
        {
            w.WriteString("enumUnderlying", Enum.GetUnderlyingType(t).Name);
            w.WriteBoolean("flags", t.IsDefined(typeof(FlagsAttribute), false));
        }
        w.WriteEndObject();
    });

    /// <summary>True for members Python can call: no pointers, no ref structs.</summary>
    private static bool Usable(Type t)
    {
        if (t.IsByRef) t = t.GetElementType()!;
        return !t.IsPointer && !t.IsByRefLike && !t.IsFunctionPointer;
    }

    private static bool Usable(MethodBase m) =>
        m.GetParameters().All(p => Usable(p.ParameterType) || Invokers.SpanArray(p.ParameterType) != null) &&
        (m is not MethodInfo mi || mi.ReturnType == typeof(void) || Usable(mi.ReturnType));

    private static int Depth(Type? t)
    {
        int d = 0;
        for (; t != null; t = t.BaseType) d++;
        return d;
    }

    private static IEnumerable<Type> SelfAndInheritedInterfaces(Type t) =>
        t.IsInterface ? new[] { t }.Concat(t.GetInterfaces()) : new[] { t };

    private static IEnumerable<MethodInfo> PublicMethods(Type t)
    {
        // Keep the most derived of methods that share a signature ("new" hides, overrides repeat).
        var chosen = new Dictionary<string, MethodInfo>();
        foreach (Type s in SelfAndInheritedInterfaces(t))
        {
            foreach (MethodInfo m in s.GetMethods(Public))
            {
                if (m.IsSpecialName && !m.Name.StartsWith("op_", StringComparison.Ordinal)) continue;
                if (!Usable(m)) continue;
                string key = Signatures.Key(m);
                // Conversion operators differ by their result alone (op_Explicit(Half): Double, : Byte...).
                if (m.Name is "op_Implicit" or "op_Explicit" or "op_CheckedExplicit") key += "->" + m.ReturnType.FullName;
                if (!chosen.TryGetValue(key, out MethodInfo? prior) || Depth(m.DeclaringType) > Depth(prior.DeclaringType))
                    chosen[key] = m;
            }
        }
        return chosen.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ThenBy(m => m.GetParameters().Length);
    }

    private static void WriteOverload(Utf8JsonWriter w, MethodBase m, bool isStatic)
    {
        w.WriteStartObject();
        w.WriteNumber("id", TypeCatalog.IdOf(m));
        w.WriteString("name", m.Name);
        w.WriteBoolean("static", isStatic);
        // C#'s extension methods: callable on an instance of the first parameter's type once their namespace is in scope.
        if (isStatic && m.IsDefined(typeof(System.Runtime.CompilerServices.ExtensionAttribute), false)) w.WriteBoolean("extension", true);
        w.WriteString("sig", Signatures.Of(m));
        if (m.DeclaringType != null) w.WriteNumber("declaring", TypeCatalog.IdOf(m.DeclaringType));  // C# drops base-type candidates
        w.WriteStartArray("params");
        ParameterInfo[] ps = m.GetParameters();
        foreach (ParameterInfo p in ps) WriteParameter(w, p);
        w.WriteEndArray();
        if (m is MethodInfo mi && mi.ReturnType != typeof(void)) w.WriteNumber("ret", TypeCatalog.IdOf(mi.ReturnType));
        w.WriteStartArray("genericParams");
        if (m.IsGenericMethodDefinition) foreach (Type g in m.GetGenericArguments()) w.WriteStringValue(g.Name);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteParameter(Utf8JsonWriter w, ParameterInfo p)
    {
        w.WriteStartObject();
        w.WriteString("name", p.Name ?? $"arg{p.Position}");
        Type pt = p.ParameterType;
        w.WriteNumber("byref", pt.IsByRef ? (p.IsOut ? 2 : 1) : 0);
        w.WriteNumber("type", TypeCatalog.IdOf(pt.IsByRef ? pt.GetElementType()! : pt));
        bool hasDefault = Signatures.HasDefault(p);
        w.WriteBoolean("optional", p.IsOptional || hasDefault);
        if (hasDefault) w.WriteString("default", Signatures.Literal(p.DefaultValue));
        w.WriteBoolean("params", Signatures.IsParams(p));
        w.WriteEndObject();
    }

    private static string BuildMembers(Type t) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("ctors");
        if (!t.IsAbstract && !t.IsInterface && !t.ContainsGenericParameters)
        {
            foreach (ConstructorInfo c in t.GetConstructors(BindingFlags.Public | BindingFlags.Instance))
                if (Usable(c)) WriteOverload(w, c, true);
            if (t.IsValueType && t.GetConstructor(Type.EmptyTypes) == null)
            {
                w.WriteStartObject();
                w.WriteNumber("id", TypeCatalog.IdOf((MemberInfo)t));
                w.WriteString("name", ".ctor");
                w.WriteBoolean("static", true);
                w.WriteString("sig", $"{Signatures.TypeName(t)}()");
                w.WriteStartArray("params"); w.WriteEndArray();
                w.WriteStartArray("genericParams"); w.WriteEndArray();
                w.WriteEndObject();
            }
        }
        w.WriteEndArray();

        WriteMethods(w, PublicMethods(t));

        w.WriteStartArray("properties");
        var seenProps = new HashSet<string>();
        foreach (Type s in SelfAndInheritedInterfaces(t))
        foreach (PropertyInfo p in s.GetProperties(Public).OrderByDescending(p => Depth(p.DeclaringType)))
        {
            if (!Usable(p.PropertyType)) continue;
            ParameterInfo[] index = p.GetIndexParameters();
            string key = p.Name + "/" + string.Join(",", index.Select(i => i.ParameterType.FullName));
            if (!seenProps.Add(key)) continue;
            MethodInfo? get = p.GetGetMethod(), set = p.GetSetMethod();
            if (get == null && set == null) continue;
            if (index.Any(i => !Usable(i.ParameterType))) continue;
            WriteProperty(w, p, get, set, index);
        }
        w.WriteEndArray();

        w.WriteStartArray("fields");
        foreach (FieldInfo f in t.GetFields(Public))
        {
            if (!Usable(f.FieldType) || f.IsSpecialName) continue;
            WriteField(w, f);
        }
        w.WriteEndArray();

        w.WriteStartArray("events");
        foreach (EventInfo e in t.GetEvents(Public))
        {
            MethodInfo? add = e.GetAddMethod(), remove = e.GetRemoveMethod();
            if (add == null || remove == null || e.EventHandlerType == null) continue;
            WriteEvent(w, e.Name, e.EventHandlerType, add, remove);
        }
        w.WriteEndArray();

        if (!t.IsInterface) WriteProtected(w, t);

        w.WriteStartArray("nested");
        foreach (Type n in t.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic))
        {
            // Public ones, and protected ones (reachable from a Python subclass, or anywhere
            // under pyclrbridge.compat, as in pythonnet); never internal or private.
            bool isProtected = n.IsNestedFamily || n.IsNestedFamORAssem;
            if (!n.IsNestedPublic && !isProtected) continue;
            w.WriteStartObject();
            w.WriteString("name", n.Name);
            w.WriteNumber("id", TypeCatalog.IdOf(n));
            if (isProtected) w.WriteBoolean("protected", true);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        if (t.IsEnum)
        {
            w.WriteStartArray("enumValues");
            bool unsigned = Enum.GetUnderlyingType(t) == typeof(ulong);
            foreach (string name in Enum.GetNames(t))
            {
                object v = Enum.Parse(t, name);
                w.WriteStartArray();
                w.WriteStringValue(name);
                if (unsigned) w.WriteNumberValue(Convert.ToUInt64(v, System.Globalization.CultureInfo.InvariantCulture));
                else w.WriteNumberValue(Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndArray();
            }
            w.WriteEndArray();
        }
        if (KindOf(t) == "delegate" && t.GetMethod("Invoke") is MethodInfo invoke && !t.ContainsGenericParameters)
        {
            w.WritePropertyName("invoke");
            WriteOverload(w, invoke, false);
        }
        w.WriteEndObject();
    });

    /// <summary>
    /// The members a subclass reaches besides the public ones (C#'s protected and protected
    /// internal), in their own section so readers of the public table see what they always saw:
    /// methods (an overload of a public name too, such as <c>Dispose(bool)</c>), properties (with
    /// only their protected accessors: <c>{ get; protected set; }</c> lists the setter; indexers
    /// too, when the type has no public one), fields and events. <c>Finalize</c> is left out: C# cannot call it either.
    /// </summary>
    private static void WriteProtected(Utf8JsonWriter w, Type t)
    {
        w.WriteStartObject("protected");
        var publicKeys = new HashSet<string>(PublicMethods(t).Select(Signatures.Key));
        var chosen = new Dictionary<string, MethodInfo>();
        foreach (MethodInfo m in t.GetMethods(NonPublic))
        {
            if (!Protected(m) || m.IsSpecialName || !Usable(m)) continue;
            if (m.Name == "Finalize" && m.GetParameters().Length == 0) continue;
            string key = Signatures.Key(m);
            if (publicKeys.Contains(key)) continue;  // hidden by a public member of the same signature
            if (!chosen.TryGetValue(key, out MethodInfo? prior) || Depth(m.DeclaringType) > Depth(prior.DeclaringType))
                chosen[key] = m;
        }
        WriteMethods(w, chosen.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ThenBy(m => m.GetParameters().Length));

        w.WriteStartArray("properties");
        var seen = new HashSet<string>();
        // A protected indexer is offered when the type has no public one (which keeps obj[key]).
        bool publicIndexer = t.GetProperties(Public).Any(q => q.GetIndexParameters().Length > 0);
        foreach (PropertyInfo p in t.GetProperties(Public | BindingFlags.NonPublic).OrderByDescending(p => Depth(p.DeclaringType)))
        {
            if (!Usable(p.PropertyType)) continue;
            ParameterInfo[] index = p.GetIndexParameters();
            if (index.Length > 0 && (publicIndexer || index.Any(i => !Usable(i.ParameterType)))) continue;
            if (!seen.Add(p.Name + "/" + string.Join(",", index.Select(i => i.ParameterType.FullName)))) continue;
            MethodInfo? get = p.GetGetMethod(true), set = p.GetSetMethod(true);
            if (!Protected(get)) get = null;
            if (!Protected(set)) set = null;
            if (get == null && set == null) continue;
            WriteProperty(w, p, get, set, index);
        }
        w.WriteEndArray();

        w.WriteStartArray("fields");
        foreach (FieldInfo f in t.GetFields(NonPublic))
        {
            if (!Protected(f) || !Usable(f.FieldType) || f.IsSpecialName) continue;
            WriteField(w, f);
        }
        w.WriteEndArray();

        w.WriteStartArray("events");
        foreach (EventInfo e in t.GetEvents(NonPublic))
        {
            MethodInfo? add = e.GetAddMethod(true), remove = e.GetRemoveMethod(true);
            if (add == null || remove == null || !Protected(add) || !Protected(remove) || e.EventHandlerType == null) continue;
            WriteEvent(w, e.Name, e.EventHandlerType, add, remove);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The "methods" object: overloads grouped by name, in the order given.</summary>
    private static void WriteMethods(Utf8JsonWriter w, IEnumerable<MethodInfo> methods)
    {
        w.WriteStartObject("methods");
        foreach (IGrouping<string, MethodInfo> group in methods.GroupBy(m => m.Name))
        {
            w.WriteStartArray(group.Key);
            foreach (MethodInfo m in group) WriteOverload(w, m, m.IsStatic);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    /// <summary>One property entry, with the accessors offered (at least one is not null).</summary>
    private static void WriteProperty(Utf8JsonWriter w, PropertyInfo p, MethodInfo? get, MethodInfo? set, ParameterInfo[] index)
    {
        w.WriteStartObject();
        w.WriteString("name", p.Name);
        w.WriteNumber("type", TypeCatalog.IdOf(p.PropertyType));
        w.WriteString("typeName", Signatures.TypeName(p.PropertyType));  // for docs, without a DescribeType per type
        w.WriteBoolean("static", (get ?? set)!.IsStatic);
        if (get != null) w.WriteNumber("get", TypeCatalog.IdOf(get));
        if (set != null) w.WriteNumber("set", TypeCatalog.IdOf(set));
        w.WriteStartArray("index");
        foreach (ParameterInfo i in index) WriteParameter(w, i);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteField(Utf8JsonWriter w, FieldInfo f)
    {
        w.WriteStartObject();
        w.WriteString("name", f.Name);
        w.WriteNumber("id", TypeCatalog.IdOf(f));
        w.WriteNumber("type", TypeCatalog.IdOf(f.FieldType));
        w.WriteString("typeName", Signatures.TypeName(f.FieldType));
        w.WriteBoolean("static", f.IsStatic);
        w.WriteBoolean("readonly", f.IsInitOnly || f.IsLiteral);
        w.WriteBoolean("const", f.IsLiteral);
        w.WriteEndObject();
    }

    private static void WriteEvent(Utf8JsonWriter w, string name, Type handlerType, MethodInfo add, MethodInfo remove)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteNumber("type", TypeCatalog.IdOf(handlerType));
        w.WriteBoolean("static", add.IsStatic);
        w.WriteNumber("add", TypeCatalog.IdOf(add));
        w.WriteNumber("remove", TypeCatalog.IdOf(remove));
        w.WriteEndObject();
    }

    /// <summary>Drops the descriptions of types of an unloading assembly.</summary>
    public static void Forget(Assembly dying)
    {
        foreach (Type t in _info.Keys) if (Collectibles.DependsOn(t, dying)) _info.TryRemove(t, out _);
        foreach (Type t in _members.Keys) if (Collectibles.DependsOn(t, dying)) _members.TryRemove(t, out _);
    }
}

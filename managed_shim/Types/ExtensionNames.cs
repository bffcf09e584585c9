using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace PyClrBridge.Shim;

/// <summary>
/// The names of the extension methods of every loaded assembly (public static methods marked
/// [Extension] in public static classes marked [Extension], in assemblies marked [Extension]:
/// C#'s own rule for metadata, and what every compiler emits), whatever their namespace: Python installs one
/// attribute per name on the proxies' root class, which looks the extension up when it is read
/// (<c>proxies/extensions.py</c>), so that proxies need no <c>__getattr__</c>. A superset of
/// what is in scope is harmless: the attribute answers AttributeError for a name with no
/// extension in scope that fits the object.
/// </summary>
internal static class ExtensionNames
{
    // Concurrent: any thread may ask; an assembly's names are computed once (a race computes
    // the same array twice, one wins). Assemblies are never unloaded from the default context.
    private static readonly ConcurrentDictionary<Assembly, string[]> _byAssembly = new();

    public static string[] Of(Assembly a) => _byAssembly.GetOrAdd(a, Scan);

    private static string[] Scan(Assembly a)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            // Forwarded types live in another assembly, which is scanned for itself.
            if (!a.IsDefined(typeof(ExtensionAttribute), false)) return Array.Empty<string>();
        }
        catch (Exception) { return Array.Empty<string>(); }  // attributes that cannot be read: none we can bind
        foreach (Type t in Assemblies.PublicTypes(a))
        {
            if (!(t.IsAbstract && t.IsSealed) || t.IsNested) continue;  // static classes, as the importer lists them
            try
            {
                if (!t.IsDefined(typeof(ExtensionAttribute), false)) continue;
            }
            catch (Exception) { continue; }
            MethodInfo[] methods;
            try { methods = t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly); }
            catch (Exception) { continue; }  // a type whose members cannot be loaded: nothing to offer
            foreach (MethodInfo m in methods)
            {
                try
                {
                    if (m.IsDefined(typeof(ExtensionAttribute), false)) names.Add(m.Name);
                }
                catch (Exception) { }  // an attribute that cannot be read: not an extension we can bind
            }
        }
        return names.ToArray();
    }
}

public static unsafe partial class Exports
{
    /// <summary>{"generation": n, "names": [...]}: the extension method names of every loaded
    /// assembly (see <see cref="ExtensionNames"/>). The generation is read first, so an assembly
    /// loaded meanwhile makes the next comparison differ.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static int ListExtensionNames(Value* result, Value* error)
    {
        try
        {
            int generation = Assemblies.Generation;
            var names = new SortedSet<string>(StringComparer.Ordinal);
            foreach (Assembly a in Assemblies.Visible()) names.UnionWith(ExtensionNames.Of(a));
            return Json(JsonSerializer.Serialize(new { generation, names }), result);
        }
        catch (Exception e) { return Fail(e, error); }
    }
}

using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Threading;

namespace PyClrBridge.Shim;

/// <summary>
/// Loads user assemblies into the default load context (so type identity is shared with the
/// rest of the process) and resolves their dependencies from their folder and .deps.json.
/// </summary>
internal static class Assemblies
{
    // Concurrent: add_reference may run on many threads; one resolver per loaded main assembly.
    private static readonly ConcurrentDictionary<string, AssemblyDependencyResolver> _resolvers = new(StringComparer.Ordinal);
    // No lock: _generation only grows by Interlocked.Increment; _hooked is claimed once by Interlocked.Exchange.
    private static int _generation;
    private static int _hooked;

    /// <summary>Bumped whenever any assembly loads: Python re-indexes namespaces when it changes.</summary>
    public static int Generation => Volatile.Read(ref _generation);

    public static void Hook()
    {
        if (Interlocked.Exchange(ref _hooked, 1) != 0) return;
        AppDomain.CurrentDomain.AssemblyLoad += (_, _) => Interlocked.Increment(ref _generation);
        AssemblyLoadContext.Default.Resolving += Resolve;
    }

    private static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name)
    {
        foreach (AssemblyDependencyResolver resolver in _resolvers.Values)
        {
            string? path = resolver.ResolveAssemblyToPath(name);
            if (path != null && File.Exists(path)) return context.LoadFromAssemblyPath(path);
        }
        return null;
    }

    public static Assembly LoadFromPath(string path)
    {
        string full = Path.GetFullPath(path);
        _resolvers.GetOrAdd(full, p => new AssemblyDependencyResolver(p));
        AssemblyName name = AssemblyName.GetAssemblyName(full);
        Assembly? already = AssemblyLoadContext.Default.Assemblies.FirstOrDefault(
            a => AssemblyName.ReferenceMatchesDefinition(name, a.GetName()) && a.GetName().Version == name.Version);
        return already ?? AssemblyLoadContext.Default.LoadFromAssemblyPath(full);
    }

    public static Assembly LoadByName(string name) =>
        AssemblyLoadContext.Default.LoadFromAssemblyName(new AssemblyName(name));

    /// <summary>Tries to load an assembly named like a namespace or one of its parents.</summary>
    public static bool TryLoadForNamespace(string ns)
    {
        bool any = false;
        for (string? candidate = ns; !string.IsNullOrEmpty(candidate);
             candidate = candidate.Contains('.') ? candidate.Substring(0, candidate.LastIndexOf('.')) : null)
        {
            if (AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == candidate)) continue;
            try { LoadByName(candidate); any = true; }
            catch (FileNotFoundException) { }
            catch (FileLoadException) { }
            catch (BadImageFormatException) { }
        }
        return any;
    }

    public static Assembly[] Visible() =>
        AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic && a != typeof(Assemblies).Assembly)
            .ToArray();

    /// <summary>Public types defined in <paramref name="a"/> and the public types it forwards
    /// (facades such as System.Xml.ReaderWriter forward everything to a private assembly).</summary>
    public static Type[] PublicTypes(Assembly a)
    {
        Type[] own = DefinedTypes(a);
        Type[] forwarded;
        try { forwarded = a.GetForwardedTypes().Where(t => t.IsPublic).ToArray(); }
        catch (ReflectionTypeLoadException e) { forwarded = e.Types.Where(t => t != null && t.IsPublic).ToArray()!; }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or NotSupportedException) { forwarded = Type.EmptyTypes; }
        return forwarded.Length == 0 ? own : own.Concat(forwarded).ToArray();
    }

    private static Type[] DefinedTypes(Assembly a)
    {
        try { return a.GetExportedTypes(); }
        catch (ReflectionTypeLoadException e) { return e.Types.Where(t => t != null && t.IsPublic).ToArray()!; }
        catch (NotSupportedException) { return Type.EmptyTypes; }
        catch (FileNotFoundException) { return Type.EmptyTypes; }
    }
}

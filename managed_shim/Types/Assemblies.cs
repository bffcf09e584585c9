using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
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
        HeldCalls.Hook();  // first: its handlers must run before any other (see HeldCalls)
        AppDomain.CurrentDomain.AssemblyLoad += (_, _) => Interlocked.Increment(ref _generation);
        AssemblyLoadContext.Default.Resolving += Resolve;
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += ResolveNative;
    }

    /// <summary>A native library (a DllImport of a loaded assembly) that the runtime's own probing
    /// did not find: the .deps.json of a referenced assembly names it (runtimes/&lt;rid&gt;/native/...,
    /// for the RIDs this runtime accepts); else, as .NET's host would for an application published
    /// in a referenced assembly's folder, any .deps.json there or runtimes/&lt;rid&gt;/native along
    /// the RID chain (<see cref="NativeAssets"/>). The asking assembly's own folder is tried first.</summary>
    private static IntPtr ResolveNative(Assembly asking, string name)
    {
        string? folder = asking.IsDynamic || asking.Location.Length == 0 ? null : Path.GetDirectoryName(asking.Location);
        KeyValuePair<string, AssemblyDependencyResolver>[] ordered = _resolvers
            .OrderBy(kv => folder != null && string.Equals(Path.GetDirectoryName(kv.Key), folder, StringComparison.Ordinal) ? 0 : 1)
            .ToArray();
        foreach (KeyValuePair<string, AssemblyDependencyResolver> kv in ordered)
        {
            string? path = kv.Value.ResolveUnmanagedDllToPath(name);
            if (path != null && File.Exists(path) && NativeLibrary.TryLoad(path, out IntPtr handle)) return handle;
        }
        // Only the folders of referenced assemblies (a framework assembly's miss is not ours to widen).
        foreach (string candidate in ordered.Select(kv => Path.GetDirectoryName(kv.Key)).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            string? path = NativeAssets.Find(candidate, name);
            if (path != null && NativeLibrary.TryLoad(path, out IntPtr handle)) return handle;
        }
        return IntPtr.Zero;
    }

    // Per thread: the file a by-name load on this thread found but refused (its assembly name differs).
    [ThreadStatic] private static string? _refused;

    // Concurrent: names are added by RefuseAssembly (any thread) and read by every load.
    private static readonly ConcurrentDictionary<string, string> _refusedNames = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>From now on the assembly <paramref name="name"/> is never loaded: not by path, not
    /// by name, not as a dependency (the JIT of a method that uses one of its types throws
    /// FileLoadException with <paramref name="reason"/>). False if it is loaded already.</summary>
    public static bool Refuse(string name, string reason)
    {
        _refusedNames[name] = reason;
        return !AppDomain.CurrentDomain.GetAssemblies().Any(a => string.Equals(a.GetName().Name, name, StringComparison.OrdinalIgnoreCase));
    }

    private static void CheckRefused(string? name)
    {
        if (name != null && _refusedNames.TryGetValue(name, out string? reason))
            throw new FileLoadException($"assembly '{name}' is not loaded: {reason}", name);
    }

    private static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name)
    {
        CheckRefused(name.Name);
        foreach (AssemblyDependencyResolver resolver in _resolvers.Values)
        {
            string? path = resolver.ResolveAssemblyToPath(name);
            if (path == null || !File.Exists(path)) continue;
            // A file found by name must carry that name: a planted Newtonsoft.Json.dll that is
            // some other assembly is refused, not loaded.
            string? actual = NameOf(path);
            if (string.Equals(actual, name.Name, StringComparison.OrdinalIgnoreCase)) return context.LoadFromAssemblyPath(path);
            _refused = $"{path} is {(actual == null ? "not a .NET assembly" : $"the assembly '{actual}'")}, not '{name.Name}'";
        }
        return null;
    }

    private static string? NameOf(string path)
    {
        try { return AssemblyName.GetAssemblyName(path).Name; }
        catch (Exception e) when (e is BadImageFormatException or IOException or UnauthorizedAccessException) { return null; }
    }

    public static Assembly LoadFromPath(string path)
    {
        string full = Path.GetFullPath(path);
        _resolvers.GetOrAdd(full, p => new AssemblyDependencyResolver(p));
        AssemblyName name = AssemblyName.GetAssemblyName(full);
        CheckRefused(name.Name);
        Assembly? already = AssemblyLoadContext.Default.Assemblies.FirstOrDefault(
            a => AssemblyName.ReferenceMatchesDefinition(name, a.GetName()) && a.GetName().Version == name.Version);
        return already ?? AssemblyLoadContext.Default.LoadFromAssemblyPath(full);
    }

    /// <summary>Loads through the runtime only: the trusted platform assemblies, then the
    /// folders (and .deps.json) of assemblies loaded by path; never the working directory.</summary>
    public static Assembly LoadByName(string name)
    {
        _refused = null;
        var wanted = new AssemblyName(name);
        CheckRefused(wanted.Name);
        try { return AssemblyLoadContext.Default.LoadFromAssemblyName(wanted); }
        catch (FileNotFoundException) when (_refused != null)
        {
            string refused = _refused;
            _refused = null;
            throw new FileLoadException($"assembly '{name}' was not loaded: {refused}");
        }
    }

    /// <summary>Tries to load an assembly named like a namespace or one of its parents.</summary>
    public static bool TryLoadForNamespace(string ns)
    {
        bool any = false;
        for (string? candidate = ns; !string.IsNullOrEmpty(candidate);
             candidate = candidate.Contains('.') ? candidate.Substring(0, candidate.LastIndexOf('.')) : null)
        {
            any |= TryLoadNew(candidate);
        }
        // Only framework roots: a missing Python module must not pay for building the index.
        bool framework = ns == "System" || ns == "Microsoft" ||
                         ns.StartsWith("System.", StringComparison.Ordinal) || ns.StartsWith("Microsoft.", StringComparison.Ordinal);
        if (!any && framework && FrameworkNamespaces.Value.TryGetValue(ns, out string[]? names))
        {
            // A framework namespace whose assembly is named otherwise
            // (System.Collections.ObjectModel lives in System.ObjectModel).
            foreach (string name in names) any |= TryLoadNew(name);
        }
        return any;
    }

    /// <summary>Loads an assembly by name unless one of that name is loaded; false if it is not found
    /// or is neither a framework assembly nor referenced by a loaded one (an import must not load
    /// a stray name.dll that happens to sit beside a referenced library).</summary>
    private static bool TryLoadNew(string name)
    {
        if (AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == name)) return false;
        if (!FrameworkAssemblies.Value.Contains(name) && !Referenced().Contains(name)) return false;
        try { LoadByName(name); return true; }
        catch (FileNotFoundException) { return false; }
        catch (FileLoadException) { return false; }
        catch (BadImageFormatException) { return false; }
    }

    // Lazy (thread-safe, built once): simple names of the trusted platform assemblies.
    private static readonly Lazy<HashSet<string>> FrameworkAssemblies = new(() => new HashSet<string>(
        TrustedPlatformAssemblies().Select(Path.GetFileNameWithoutExtension).OfType<string>(), StringComparer.OrdinalIgnoreCase));

    // Immutable snapshot swapped whole (a reference write is atomic): names loaded assemblies
    // reference, rebuilt when an assembly loads; two threads rebuilding at once build the same set.
    private static Tuple<int, HashSet<string>> _referenced = Tuple.Create(-1, new HashSet<string>());

    private static HashSet<string> Referenced()
    {
        Tuple<int, HashSet<string>> current = Volatile.Read(ref _referenced);
        int generation = Generation;
        if (current.Item1 == generation) return current.Item2;
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (Assembly a in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (a.IsDynamic) continue;
            foreach (AssemblyName reference in a.GetReferencedAssemblies())
                if (reference.Name != null) names.Add(reference.Name);
        }
        Volatile.Write(ref _referenced, Tuple.Create(generation, names));
        return names;
    }

    private static string[] TrustedPlatformAssemblies() =>
        (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);

    // Lazy (thread-safe, built once): namespace -> names of the framework assemblies that define
    // public types in it, read from the trusted platform assemblies' metadata without loading them.
    private static readonly Lazy<Dictionary<string, string[]>> FrameworkNamespaces = new(IndexFrameworkNamespaces);

    private static Dictionary<string, string[]> IndexFrameworkNamespaces()
    {
        var found = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (string path in TrustedPlatformAssemblies())
        {
            try
            {
                using FileStream file = File.OpenRead(path);
                using var pe = new PEReader(file);
                if (!pe.HasMetadata) continue;
                MetadataReader md = pe.GetMetadataReader();
                if (!md.IsAssembly) continue;
                string assembly = md.GetString(md.GetAssemblyDefinition().Name);
                foreach (TypeDefinitionHandle handle in md.TypeDefinitions)
                {
                    TypeDefinition type = md.GetTypeDefinition(handle);
                    if ((type.Attributes & TypeAttributes.VisibilityMask) != TypeAttributes.Public) continue;
                    string ns = md.GetString(type.Namespace);
                    if (ns.Length == 0) continue;
                    if (!found.TryGetValue(ns, out HashSet<string>? names)) found[ns] = names = new HashSet<string>(StringComparer.Ordinal);
                    names.Add(assembly);
                }
            }
            catch (IOException) { }
            catch (BadImageFormatException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
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

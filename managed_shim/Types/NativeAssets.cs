using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace PyClrBridge.Shim;

/// <summary>
/// Finds a native library (a DllImport name) for assemblies in one folder where .NET's host would
/// look for an application published there: the native assets that any <c>*.deps.json</c> in the
/// folder names (the application's own, not only <c>&lt;Assembly&gt;.deps.json</c>), then
/// <c>runtimes/&lt;rid&gt;/native/</c>, for the RIDs of this process from the most specific
/// (<c>linux-x64</c>, <c>linux</c>, <c>unix</c>, <c>any</c>). A portable <c>dotnet publish</c>
/// folder (no RID) has its native libraries only there.
/// </summary>
internal static class NativeAssets
{
    /// <summary>This process's RIDs, most specific first (read-only after start: no lock).</summary>
    public static readonly string[] RidChain = Chain();

    private static string[] Chain()
    {
        string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        string rid = RuntimeInformation.RuntimeIdentifier;
        var chain = new List<string>();
        void Add(string r)
        {
            if (!chain.Contains(r)) chain.Add(r);
        }
        Add(rid);
        if (OperatingSystem.IsWindows())
        {
            Add($"win-{arch}");
            Add("win");
        }
        else
        {
            if (OperatingSystem.IsMacOS())
            {
                Add($"osx-{arch}");
                Add("osx");
            }
            else if (OperatingSystem.IsLinux())
            {
                if (rid.Contains("-musl", StringComparison.Ordinal))
                {
                    Add($"linux-musl-{arch}");
                    Add("linux-musl");
                }
                else if (rid.Contains("-bionic", StringComparison.Ordinal))
                {
                    Add($"linux-bionic-{arch}");
                    Add("linux-bionic");
                }
                Add($"linux-{arch}");
                Add("linux");
            }
            else if (OperatingSystem.IsFreeBSD())
            {
                Add($"freebsd-{arch}");
                Add("freebsd");
            }
            Add("unix");
        }
        Add("any");
        return chain.ToArray();
    }

    /// <summary>The file names the runtime tries for a DllImport <paramref name="name"/> on this
    /// platform (<c>e_sqlite3</c>: <c>libe_sqlite3.so</c>, <c>e_sqlite3.so</c>, <c>libe_sqlite3</c>, <c>e_sqlite3</c>).</summary>
    public static string[] FileNames(string name)
    {
        if (OperatingSystem.IsWindows())
            return name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".exe", StringComparison.OrdinalIgnoreCase)
                ? new[] { name }
                : new[] { name + ".dll", name };
        string suffix = OperatingSystem.IsMacOS() ? ".dylib" : ".so";
        bool suffixed = name.EndsWith(suffix, StringComparison.Ordinal) || name.Contains(suffix + ".", StringComparison.Ordinal);
        return suffixed ? new[] { name, "lib" + name } : new[] { "lib" + name + suffix, name + suffix, "lib" + name, name };
    }

    /// <summary>The native library <paramref name="name"/> for assemblies in <paramref name="folder"/>,
    /// by the RID nearest this process's (an asset a .deps.json names before a <c>runtimes/</c> folder
    /// of the same RID); null if there is none. Only simple names: a name with a directory is the
    /// runtime's own business.</summary>
    public static string? Find(string folder, string name)
    {
        if (name.Length == 0 || name.IndexOfAny(new[] { '/', '\\' }) >= 0 || Path.IsPathRooted(name)) return null;
        string[] files = FileNames(name);
        string root = Path.GetFullPath(folder);
        var candidates = new List<(int rank, string path)>();
        foreach ((string relative, string? rid) in DepsAssets(root))
        {
            int rank = rid == null ? RidChain.Length - 1 : Array.IndexOf(RidChain, rid);  // a RID-less asset fits any
            if (rank < 0 || !files.Contains(Path.GetFileName(relative), StringComparer.Ordinal)) continue;
            candidates.Add((2 * rank, relative));
        }
        for (int rank = 0; rank < RidChain.Length; rank++)
            foreach (string file in files)
                candidates.Add((2 * rank + 1, Path.Combine("runtimes", RidChain[rank], "native", file)));
        foreach ((int _, string relative) in candidates.OrderBy(c => c.rank))
        {
            string path = Path.GetFullPath(Path.Combine(root, relative));
            // Inside the folder only: a .deps.json cannot point a load at some other place.
            if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) continue;
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>Every native asset the <c>*.deps.json</c> files of <paramref name="folder"/> name:
    /// its path relative to the folder and its RID (null for a RID-specific publish's own assets).
    /// A file that cannot be read or parsed is skipped, as if absent.</summary>
    private static IEnumerable<(string path, string? rid)> DepsAssets(string folder)
    {
        string[] depsFiles;
        try { depsFiles = Directory.GetFiles(folder, "*.deps.json"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { yield break; }
        Array.Sort(depsFiles, StringComparer.Ordinal);
        foreach (string deps in depsFiles)
        {
            List<(string, string?)> found;
            try { found = ReadDeps(deps); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException) { continue; }
            foreach ((string, string?) asset in found) yield return asset;
        }
    }

    private static List<(string path, string? rid)> ReadDeps(string deps)
    {
        var found = new List<(string, string?)>();
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(deps));
        if (!doc.RootElement.TryGetProperty("targets", out JsonElement targets) || targets.ValueKind != JsonValueKind.Object) return found;
        foreach (JsonProperty target in targets.EnumerateObject())
        {
            if (target.Value.ValueKind != JsonValueKind.Object) continue;
            foreach (JsonProperty library in target.Value.EnumerateObject())
            {
                if (library.Value.ValueKind != JsonValueKind.Object) continue;
                if (library.Value.TryGetProperty("native", out JsonElement native) && native.ValueKind == JsonValueKind.Object)
                    foreach (JsonProperty asset in native.EnumerateObject()) found.Add((asset.Name, null));
                if (library.Value.TryGetProperty("runtimeTargets", out JsonElement runtimeTargets) && runtimeTargets.ValueKind == JsonValueKind.Object)
                {
                    foreach (JsonProperty asset in runtimeTargets.EnumerateObject())
                    {
                        if (asset.Value.ValueKind != JsonValueKind.Object) continue;
                        if (!asset.Value.TryGetProperty("assetType", out JsonElement type) || type.ValueKind != JsonValueKind.String || type.GetString() != "native") continue;
                        if (asset.Value.TryGetProperty("rid", out JsonElement rid) && rid.ValueKind == JsonValueKind.String)
                            found.Add((asset.Name, rid.GetString()));
                    }
                }
            }
        }
        return found;
    }
}

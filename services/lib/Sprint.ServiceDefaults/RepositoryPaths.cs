namespace Sprint.ServiceDefaults;

public static class RepositoryPaths
{
    /// <summary>
    /// A relative path as given when it exists from the working directory; otherwise the first folder above the
    /// working directory or above the program's own folder where it exists (so "models/sprint-tiny-math" works from
    /// anywhere inside a clone, including under `dotnet run --project`). Unchanged when found nowhere, so the error
    /// names what was configured.
    /// </summary>
    public static string Resolve(string path)
    {
        if (Path.IsPathRooted(path) || Path.Exists(path)) return path;
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, path);
                if (Path.Exists(candidate)) return candidate;
            }
        return path;
    }
}

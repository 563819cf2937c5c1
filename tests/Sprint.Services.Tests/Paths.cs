namespace Sprint.Services.Tests;

static class Paths
{
    public static readonly string Root = FindRoot();
    public static readonly string Model = Path.Combine(Root, "models", "sprint-tiny-math");
    public static readonly string Selector = Path.Combine(Model, "selector.safetensors");
    public static readonly string Protos = Path.Combine(Root, "protos");

#if DEBUG
    const string Configuration = "Debug";
#else
    const string Configuration = "Release";
#endif

    /// <summary>A service's own build output (the solution build puts it there before the tests run).</summary>
    public static string ServiceDll(string folder, string assembly) =>
        Path.Combine(Root, "services", folder, "bin", Configuration, "net10.0", "linux-x64", assembly + ".dll");

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sprint.Grpc.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Sprint.Grpc.sln not found above the test output folder");
    }
}

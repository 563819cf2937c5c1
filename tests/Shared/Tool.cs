using System.Diagnostics;

namespace Sprint.Tests.Shared;

static class Tool
{
    /// <summary>Runs a program to completion (3 minutes at most unless <paramref name="timeout"/> says otherwise) and returns its standard output; fails the test on a non-zero exit.</summary>
    /// <remarks>Shared by the test projects that start real programs (linked from tests/Shared).</remarks>
    public static async Task<string> Run(string file, string[] args, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromMinutes(3);
        using var cancel = new CancellationTokenSource(limit);
        try { await process.WaitForExitAsync(cancel.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {limit}:\n{await stderr}"); }
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
        return await stdout;
    }

    /// <summary>
    /// A third-party test tool (ghz, grpcurl) on PATH, or in ../shared/tools beside the clone as CI has them; null when
    /// neither has it (the test then says so and leaves that part out).
    /// </summary>
    public static string? Find(string program, string repositoryRoot)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                     .Append(Path.Combine(repositoryRoot, "..", "shared", "tools")))
            if (File.Exists(Path.Combine(dir, program))) return Path.GetFullPath(Path.Combine(dir, program));
        return null;
    }

    /// <summary>A free loopback port (for programs that cannot report the one they bound themselves).</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

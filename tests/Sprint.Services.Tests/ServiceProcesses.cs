using System.Diagnostics;
using System.Text;
using Grpc.Net.Client;

namespace Sprint.Services.Tests;

/// <summary>A service (or redis-server) started as its own process on a loopback port; killed with its tree on dispose.</summary>
public sealed partial class ServiceProcess : IDisposable
{
    readonly Process process;
    readonly StringBuilder log = new();

    public int Port { get; private set; }
    public string Address => $"http://127.0.0.1:{Port}";
    public string Log { get { lock (log) return log.ToString(); } }
    public bool HasExited => process.HasExited;
    public int Id => process.Id;

    /// <summary>Sends SIGTERM (what docker stop and Kubernetes send) and waits for the process to end.</summary>
    public bool Terminate(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) kill.WaitForExit();
        return process.WaitForExit(timeout);
    }

    ServiceProcess(string file, IEnumerable<string> args, int port)
    {
        Port = port;
        // Outside the clone: a service must find its default model from its own folder.
        var start = new ProcessStartInfo(file) { WorkingDirectory = Path.GetTempPath(), RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>
    /// dotnet services/FOLDER/bin/.../ASSEMBLY.dll --Service:Port=0 plus settings: the service binds a free port itself
    /// (no port is picked here and released before use) and its "Now listening on" line says which. Returns once its
    /// health is SERVING.
    /// </summary>
    public static Task<ServiceProcess> StartService(string folder, string assembly, params string[] settings) => StartService(folder, assembly, true, settings);

    /// <summary>As above; <paramref name="waitServing"/> false returns once it listens (a replica that will never be SERVING).</summary>
    public static async Task<ServiceProcess> StartService(string folder, string assembly, bool waitServing, params string[] settings)
    {
        var dll = Paths.ServiceDll(folder, assembly);
        // sprint serve opens its page on 8080 unless told otherwise: tests run several at once, so none unless asked.
        if (settings is ["serve", ..] && !settings.Any(s => s.StartsWith("--web-port", StringComparison.Ordinal))) settings = ["serve", "--web-port=0", .. settings[1..]];
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} is missing: build the solution first (dotnet test Sprint.Grpc.sln does)");
        var service = new ServiceProcess("dotnet", [dll, .. settings, "--Service:Port=0", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information"], 0);
        try
        {
            for (var until = DateTime.UtcNow.AddMinutes(1); service.Port == 0; await Task.Delay(50))
            {
                if (ListeningOn().Match(service.Log) is { Success: true } m) service.Port = int.Parse(m.Groups[1].Value);
                else if (service.HasExited || DateTime.UtcNow > until) throw new InvalidOperationException("it never said where it listens");
            }
            if (!waitServing) return service;
            using var channel = GrpcChannel.ForAddress(service.Address);
            await SuiteFixture.WaitServingAsync(channel, "");
            return service;
        }
        catch (Exception e)
        {
            service.Dispose();
            throw new InvalidOperationException($"{assembly} did not become ready: {e.Message}\n{service.Log}", e);
        }
    }

    /// <summary>redis-server on a free loopback port (it cannot report a port it chose itself, so a port another process
    /// took between the pick and the bind is retried).</summary>
    public static async Task<ServiceProcess> StartRedis(params string[] extra)
    {
        const string server = "/usr/bin/redis-server";
        if (!File.Exists(server)) throw new FileNotFoundException("redis-server is missing: apt-get install -y redis-server (.ci/run does)");
        for (int attempt = 1; ; attempt++)
        {
            int port = SuiteFixture.FreePort();
            var redis = new ServiceProcess(server, ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", .. extra], port);
            for (int i = 0; i < 100 && !redis.Log.Contains("Ready to accept connections") && !redis.HasExited; i++) await Task.Delay(50);
            if (redis.Log.Contains("Ready to accept connections")) return redis;
            redis.Dispose();
            if (attempt == 3) throw new InvalidOperationException($"redis-server did not start:\n{redis.Log}");
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"Now listening on: http://127\.0\.0\.1:(\d+)")]
    private static partial System.Text.RegularExpressions.Regex ListeningOn();

    /// <summary>Sends a signal by name (STOP freezes the process as a hung machine would, CONT resumes it).</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", [$"-{name}", process.Id.ToString()]);
        kill.WaitForExit();
    }

    public void Kill()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    public void Dispose()
    {
        try { Signal("CONT"); } catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        try { Kill(); } catch (InvalidOperationException) { }
        process.Dispose();
    }
}

/// <summary>The processes a test or fixture started, each killed (with its tree) when the set is disposed.</summary>
public sealed class ProcessSet : IEnumerable<ServiceProcess>, IDisposable
{
    readonly List<ServiceProcess> processes = [];

    /// <summary>Adds a started process and returns it.</summary>
    public ServiceProcess Track(ServiceProcess p)
    {
        lock (processes) processes.Add(p);
        return p;
    }

    public IEnumerator<ServiceProcess> GetEnumerator()
    {
        lock (processes) return processes.ToList().GetEnumerator();
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var p in this) p.Dispose();
    }
}

/// <summary>A service's Prometheus scrape (Service:MetricsPort), read as a test reads it.</summary>
static class Scrape
{
    /// <summary>The value of a counter's series whose line starts with <paramref name="series"/> and holds <paramref name="label"/> (0 when absent).</summary>
    public static async Task<int> Counter(int metricsPort, string series, string label = "")
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var scrape = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        var line = scrape.Split('\n').SingleOrDefault(l => l.StartsWith(series, StringComparison.Ordinal) && l.Contains(label, StringComparison.Ordinal));
        return line is null ? 0 : (int)double.Parse(line.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
    }
}

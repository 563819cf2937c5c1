using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Sprint.ServiceDefaults;

/// <summary>
/// The service binary as its own health probe (<c>sprint-service probe</c>): asks the process beside it, on
/// Service:MetricsPort, for <see cref="SprintServiceHost.ReadinessPath"/> and exits 0 when it is ready to serve, 1 when
/// it is not (or does not answer within five seconds), 2 when no metrics port is set. The images have no shell and
/// no curl, so a container engine's health check, <c>docker exec</c> and <c>deploy/local/up.sh</c> run this. It reads
/// the settings from the same places the service does (appsettings.json, environment, the command line).
/// </summary>
public static class Probe
{
    public const string Verb = "probe";

    public static int Run(string serviceName, string[] args)
    {
        var configuration = Host.CreateApplicationBuilder(args).Configuration;
        var options = configuration.GetSection(ServiceOptions.Section).Get<ServiceOptions>() ?? new ServiceOptions();
        if (options.MetricsPort <= 0)
        {
            Console.Error.WriteLine($"{serviceName}: probe: Service:MetricsPort is not set, so there is no health endpoint to ask");
            return 2;
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = http.GetAsync($"http://127.0.0.1:{options.MetricsPort}{SprintServiceHost.ReadinessPath}").GetAwaiter().GetResult();
            bool ready = response.IsSuccessStatusCode;
            Console.WriteLine($"{serviceName}: {(ready ? "SERVING" : $"NOT_SERVING ({(int)response.StatusCode})")}");
            return ready ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.WriteLine($"{serviceName}: NOT_SERVING (no answer on port {options.MetricsPort}: {e.GetType().Name})");
            return 1;
        }
    }
}

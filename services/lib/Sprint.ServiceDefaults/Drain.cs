using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Graceful stop on SIGTERM, in three steps: health says NOT_SERVING at once (this check fails the overall and
/// every service status) while the service keeps serving for <see cref="ServiceOptions.DrainDelay"/>, so load
/// balancers and Kubernetes endpoints stop sending new calls; then the server stops accepting; calls in flight,
/// streams included, get <see cref="ServiceOptions.ShutdownGrace"/> to finish.
/// </summary>
public sealed class Drain(ServiceOptions options, ILogger<Drain> log) : IHostedLifecycleService, IHealthCheck
{
    public const string Tag = "drain";
    volatile bool draining;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        draining = true;
        log.LogInformation("stopping: NOT_SERVING now, still serving for {Delay} s, then calls in flight get up to {Grace} s",
            options.DrainDelay.TotalSeconds, options.ShutdownGrace.TotalSeconds);
        try { await Task.Delay(options.DrainDelay, cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(draining ? HealthCheckResult.Unhealthy("stopping") : HealthCheckResult.Healthy());

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

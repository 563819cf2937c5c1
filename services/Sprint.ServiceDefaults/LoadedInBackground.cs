using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Something slow to load (a model, an artifact), loaded on a background thread at start-up so the server listens
/// at once; its health check is Unhealthy (gRPC NOT_SERVING) while loading or after a failure, Healthy once loaded.
/// </summary>
public abstract class LoadedInBackground<T>(ILogger log) : BackgroundService, IHealthCheck where T : class
{
    volatile T? value;
    volatile Exception? failure;

    /// <summary>Null while loading, or when loading failed.</summary>
    public T? Value => value;

    /// <summary>Names it in messages, e.g. "the model".</summary>
    protected abstract string What { get; }

    protected abstract T Load();

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try { value = Load(); }
        catch (Exception e)
        {
            failure = e;
            log.LogError(e, "loading {What} failed", What);
        }
    }, stoppingToken);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(value is not null ? HealthCheckResult.Healthy($"{What} loaded")
            : failure is not null ? HealthCheckResult.Unhealthy($"{What} failed to load: {failure.Message}")
            : HealthCheckResult.Unhealthy($"{What} loading"));

    public override void Dispose()
    {
        (value as IDisposable)?.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }
}

using Grpc.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sprint.Core;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Thrown by a loader when what it loads is simply not there (e.g. no selector trained for this model yet):
/// <paramref name="forCallers"/> says so and what makes one, without server paths; the message adds the details for the log.
/// </summary>
public sealed class NotProvidedException(string forCallers, string details) : Exception(forCallers + " " + details)
{
    public string ForCallers { get; } = forCallers;
}

/// <summary>
/// Something slow to load (a model, an artifact), loaded on a background thread at start-up so the server listens
/// at once. Its own health check is Unhealthy (gRPC NOT_SERVING) while loading, when absent or after a failure,
/// Healthy once loaded. <see cref="Readiness"/> is what it contributes to the process's overall status: the same
/// when <see cref="Required"/>, otherwise unready only while loading (a process that can serve without it, as the
/// suite serves every strategy but sprint without a selector). What went wrong is logged once, without a stack
/// trace for a file that is simply absent.
/// </summary>
public abstract class LoadedInBackground<T>(ILogger log) : BackgroundService, IHealthCheck where T : class
{
    volatile T? value;
    volatile Exception? failure;

    /// <summary>Null while loading, or when loading failed.</summary>
    public T? Value => value;

    /// <summary>Names it in messages, e.g. "the model".</summary>
    protected abstract string What { get; }

    /// <summary>Whether the process cannot serve at all without it.</summary>
    public virtual bool Required => true;

    protected abstract T Load();

    /// <summary>
    /// The loaded value, or the status a call gets instead: UNAVAILABLE while loading, FAILED_PRECONDITION when absent
    /// or refused — with what a caller may know (a load error's text, which names server paths, stays in the log).
    /// </summary>
    public T Require()
    {
        if (value is { } loaded) return loaded;
        if (failure is NotProvidedException absent) throw new FailedPreconditionException($"{What} is not available: {absent.ForCallers}");
        if (failure is FailedPreconditionException refused) throw new FailedPreconditionException($"{What} is not available: {refused.Message}");   // written for callers
        if (failure is not null) throw new FailedPreconditionException($"{What} is not available: it failed to load (the service's log says why)");
        throw Refusals.Loading(What);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try { value = Load(); }
        catch (NotProvidedException e)
        {
            failure = e;
            log.LogWarning("{What} is not available: {Why}", What, e.Message);
        }
        catch (Exception e) when (e is Sprint.Core.LoadException or Sprint.Core.FailedPreconditionException)
        {
            failure = e;   // its message says it all: one line (a container's log shows why it is not SERVING)
            log.LogError("loading {What} failed: {Why}", What, e.Message);
        }
        catch (Exception e)
        {
            failure = e;
            log.LogError(e, "loading {What} failed", What);
        }
    }, stoppingToken);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(value is not null ? HealthCheckResult.Healthy($"{What} loaded")
            : failure is not null ? HealthCheckResult.Unhealthy($"{What} is not available: {failure.Message}", failure)
            : HealthCheckResult.Unhealthy($"{What} loading"));

    /// <summary>Its part in the overall ("") status.</summary>
    public IHealthCheck Readiness => new ReadinessCheck(this);

    sealed class ReadinessCheck(LoadedInBackground<T> loader) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            loader.Required || (loader.value is null && loader.failure is null)
                ? loader.CheckHealthAsync(context, cancellationToken)
                : Task.FromResult(HealthCheckResult.Healthy($"{loader.What}: optional ({(loader.value is null ? "not available" : "loaded")})"));
    }

    public override void Dispose()
    {
        (value as IDisposable)?.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }
}

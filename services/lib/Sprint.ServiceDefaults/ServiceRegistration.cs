using Grpc.AspNetCore.HealthChecks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Sprint.ServiceDefaults;

public static class ServiceRegistration
{
    /// <summary>Binds a configuration section (defaults where it is absent) and registers the result as a singleton.</summary>
    public static T BindOptions<T>(this WebApplicationBuilder builder, string section) where T : class, new()
    {
        var options = builder.Configuration.GetSection(section).Get<T>() ?? new T();
        builder.Services.AddSingleton(options);
        return options;
    }

    /// <summary>
    /// Reports <paramref name="check"/> as the gRPC health of <paramref name="serviceName"/> and as part of the
    /// overall ("") status.
    /// </summary>
    public static void AddServiceHealth(this IServiceCollection services, string serviceName, string checkName,
        Func<IServiceProvider, IHealthCheck> check)
    {
        services.AddHealthChecks().Add(new(checkName, check, null, [serviceName, SprintServiceHost.ReadyTag]));
        services.Configure<GrpcHealthChecksOptions>(o => o.Services.Map(serviceName, r => r.Tags.Contains(serviceName) || r.Tags.Contains(Drain.Tag)));
    }

    /// <summary>
    /// Registers a background loader once and starts it with the host; its own check is the gRPC health of
    /// <paramref name="serviceName"/>, its <c>Readiness</c> part of the overall ("") status.
    /// </summary>
    public static void AddLoadedInBackground<TLoader, TValue>(this IServiceCollection services, string serviceName, string checkName)
        where TLoader : LoadedInBackground<TValue> where TValue : class
    {
        services.AddSingleton<TLoader>();
        services.AddHostedService(sp => sp.GetRequiredService<TLoader>());
        services.AddHealthChecks()
            .Add(new(checkName, sp => sp.GetRequiredService<TLoader>(), null, [serviceName]))
            .Add(new(checkName + "-ready", sp => sp.GetRequiredService<TLoader>().Readiness, null, [SprintServiceHost.ReadyTag]));
        services.Configure<GrpcHealthChecksOptions>(o => o.Services.Map(serviceName, r => r.Tags.Contains(serviceName) || r.Tags.Contains(Drain.Tag)));
    }
}

/// <summary>The health of a service with nothing to load (gateway, verifier): serving as soon as it listens.</summary>
public sealed class AlwaysHealthy : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Healthy());
}

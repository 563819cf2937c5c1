using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway;

public static class GatewayHost
{
    public const string ServiceName = "sprint.v1.GatewayService";

    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        builder.BindOptions<GatewayOptions>(GatewayOptions.Section);
        builder.Services.AddSingleton<Upstreams>();
        // Nothing to load: serving as soon as it listens (upstream trouble shows per call, not as NOT_SERVING).
        builder.Services.AddServiceHealth(ServiceName, "gateway", _ => new AlwaysHealthy());
        return builder;
    }

    /// <summary>Maps Solve, reachable over gRPC and (through the gRPC-Web middleware) from browsers.</summary>
    public static WebApplication MapGateway(this WebApplication app)
    {
        app.UseGrpcWeb();
        app.MapSprintService<GatewayGrpcService>("gateway").EnableGrpcWeb();
        return app;
    }

    sealed class AlwaysHealthy : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(HealthCheckResult.Healthy());
    }
}

using Sprint.ServiceDefaults;

namespace Sprint.Gateway;

public static class GatewayHost
{
    public const string ServiceName = "sprint.v1.GatewayService";

    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<Upstreams>();
        builder.Services.AddSingleton<SolvePlanner>();
        builder.Services.AddGrpcHealthChecks();
        builder.Services.Configure<Grpc.AspNetCore.HealthChecks.GrpcHealthChecksOptions>(o =>
            o.Services.Map(GatewayHost.ServiceName, r => r.Tags.Contains(ServiceName)));
        builder.Services.AddHealthChecks().AddCheck("gateway", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy(),
            [ServiceName, SprintServiceHost.ReadyTag]);
        return builder;
    }

    /// <summary>Maps Solve, reachable over gRPC and (through the gRPC-Web middleware) from browsers.</summary>
    public static WebApplication MapGateway(this WebApplication app)
    {
        app.UseGrpcWeb();
        app.MapGrpcService<GatewayGrpcService>().EnableGrpcWeb();
        return app;
    }
}

using Sprint.Inference;
using Sprint.ServiceDefaults;

namespace Sprint.Generator;

public static class GeneratorHost
{
    public const string ServiceName = "sprint.v1.GeneratorService";

    /// <summary>Registers the Generator: options from "Generator", the engine (loaded in the background) and its health check.</summary>
    public static WebApplicationBuilder AddGenerator(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(GeneratorOptions.Section).Get<GeneratorOptions>() ?? new GeneratorOptions();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton<GeneratorEngine>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GeneratorEngine>());
        builder.Services.AddHealthChecks().Add(new("generator-model", sp => sp.GetRequiredService<GeneratorEngine>(), null, [ServiceName, SprintServiceHost.ReadyTag]));
        builder.Services.Configure<Grpc.AspNetCore.HealthChecks.GrpcHealthChecksOptions>(o =>
            o.Services.Map(ServiceName, r => r.Tags.Contains(ServiceName)));
        return builder;
    }

    public static WebApplication MapGenerator(this WebApplication app)
    {
        app.MapGrpcService<GeneratorGrpcService>();
        return app;
    }
}

using Sprint.Inference;
using Sprint.ServiceDefaults;

namespace Sprint.Generator;

public static class GeneratorHost
{
    public static readonly string ServiceName = Sprint.Contracts.V1.GeneratorService.Descriptor.FullName;

    /// <summary>Registers the Generator: options from "Generator", the engine (loaded in the background) and its health check.</summary>
    public static WebApplicationBuilder AddGenerator(this WebApplicationBuilder builder)
    {
        builder.BindOptions<GeneratorOptions>(GeneratorOptions.Section);
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton<GenerationStreams>();
        builder.Services.AddLoadedInBackground<GeneratorEngine, Sprint.Inference.Generation.BatchScheduler>(ServiceName, "generator-model");
        return builder;
    }

    public static WebApplication MapGenerator(this WebApplication app)
    {
        app.MapSprintService<GeneratorGrpcService>("generator");
        return app;
    }
}

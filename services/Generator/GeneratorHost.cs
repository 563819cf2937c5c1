using Sprint.Inference;
using Sprint.ServiceDefaults;

namespace Sprint.Generator;

public static class GeneratorHost
{
    public const string ServiceName = "sprint.v1.GeneratorService";

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

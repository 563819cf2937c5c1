using Sprint.ServiceDefaults;

namespace Sprint.Verifier;

public static class VerifierHost
{
    public static readonly string ServiceName = Sprint.Contracts.V1.VerifierService.Descriptor.FullName;

    public static WebApplicationBuilder AddVerifier(this WebApplicationBuilder builder)
    {
        builder.BindOptions<VerifierOptions>(VerifierOptions.Section);
        builder.Services.AddSingleton<StepVerifier>();
        // Nothing to load: serving as soon as it listens.
        builder.Services.AddServiceHealth(ServiceName, "verifier", _ => new AlwaysHealthy());
        return builder;
    }

    public static WebApplication MapVerifier(this WebApplication app)
    {
        app.MapSprintService<VerifierGrpcService>("verifier");
        return app;
    }
}

using Sprint.Inference;
using Sprint.ServiceDefaults;

namespace Sprint.Verifier;

public static class VerifierHost
{
    public static readonly string ServiceName = Sprint.Contracts.V1.VerifierService.Descriptor.FullName;

    /// <summary>gRPC health name of the learned verifier: NOT_SERVING while loading, absent or refused. The service itself serves step checks from the start.</summary>
    public static readonly string OutcomeHealthName = ServiceName + ".Outcome";

    public static WebApplicationBuilder AddVerifier(this WebApplicationBuilder builder)
    {
        builder.BindOptions<VerifierOptions>(VerifierOptions.Section);
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddLoadedInBackground<OutcomeScorer, Sprint.Verification.OutcomeVerifier>(OutcomeHealthName, "verifier-outcome");
        builder.Services.AddSingleton<CandidateVerifier>();
        builder.Services.AddSingleton<CandidateWatch>();
        // Step checks need nothing loaded: the service is serving as soon as it listens.
        builder.Services.AddServiceHealth(ServiceName, "verifier", _ => new AlwaysHealthy());
        return builder;
    }

    public static WebApplication MapVerifier(this WebApplication app)
    {
        app.MapSprintService<VerifierGrpcService>("verifier");
        return app;
    }
}

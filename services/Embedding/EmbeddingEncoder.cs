using Sprint.ServiceDefaults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sprint.Inference;
using Sprint.Inference.Encoders;

namespace Sprint.Embedding;

/// <summary>The question encoder, loaded in the background at start-up; one encode runs at a time.</summary>
public sealed class EmbeddingEncoder(EmbeddingOptions options, ModelCatalog catalog, ILogger<EmbeddingEncoder> log) : BackgroundService, IHealthCheck
{
    readonly SemaphoreSlim gate = new(1, 1);
    volatile QuestionEncoder? encoder;
    Exception? failure;

    public QuestionEncoder? Encoder => encoder;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try
        {
            TorchThreads.Configure(options.Threads);
            var lm = catalog.Get(RepositoryPaths.Resolve(options.Model), LanguageModel.ParseDType(options.DType));
            if (lm.Tokenizer is null) throw new InvalidOperationException($"{options.Model} has no tokenizer files");
            encoder = new QuestionEncoder(lm, string.IsNullOrEmpty(options.SystemPrompt) ? null : options.SystemPrompt);
            log.LogInformation("encoder {Encoder} ready ({Dim} dimensions)", encoder.EncoderId, encoder.Dimension);
        }
        catch (Exception e)
        {
            failure = e;
            log.LogError(e, "loading {Model} failed", options.Model);
        }
    }, stoppingToken);

    public async Task<float[]> EncodeAsync(QuestionEncoder loaded, string text, CancellationToken ct)
    {
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try { return await Task.Run(() => loaded.Encode([text])[0], ct).ConfigureAwait(false); }
        finally { gate.Release(); }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(encoder is not null ? HealthCheckResult.Healthy("encoder loaded")
            : failure is not null ? HealthCheckResult.Unhealthy($"encoder failed to load: {failure.Message}")
            : HealthCheckResult.Unhealthy("encoder loading"));
}

using Sprint.Inference;
using Sprint.Pipeline.Encoding;
using Sprint.ServiceDefaults;

namespace Sprint.Embedding;

/// <summary>The question encoder, loaded in the background at start-up; one encode runs at a time.</summary>
public sealed class EmbeddingEncoder(EmbeddingOptions options, ModelCatalog catalog, ILogger<EmbeddingEncoder> log)
    : LoadedInBackground<QuestionEncoder>(log)
{
    readonly SemaphoreSlim gate = new(1, 1);

    public QuestionEncoder? Encoder => Value;

    protected override string What => "the encoder";

    protected override QuestionEncoder Load()
    {
        TorchThreads.Configure(options.Threads);
        var lm = catalog.Get(RepositoryPaths.Resolve(options.Model), LanguageModel.ParseDType(options.DType));
        if (lm.Tokenizer is null) throw new InvalidOperationException($"{options.Model} has no tokenizer files");
        var encoder = new QuestionEncoder(lm, string.IsNullOrEmpty(options.SystemPrompt) ? null : options.SystemPrompt);
        log.LogInformation("encoder {Encoder} ready ({Dim} dimensions)", encoder.EncoderId, encoder.Dimension);
        return encoder;
    }

    public async Task<float[]> EncodeAsync(QuestionEncoder loaded, string text, CancellationToken ct)
    {
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try { return await Task.Run(() => loaded.Encode([text])[0], ct).ConfigureAwait(false); }
        finally { gate.Release(); }
    }
}

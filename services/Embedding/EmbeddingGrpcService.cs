using Grpc.Core;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.ServiceDefaults;

namespace Sprint.Embedding;

public sealed class EmbeddingGrpcService(EmbeddingEncoder encoder, EmbeddingCache cache, EmbeddingOptions options) : EmbeddingService.EmbeddingServiceBase
{
    public override async Task<EmbedResponse> Embed(EmbedRequest request, ServerCallContext context)
    {
        var text = ClientText.Normalized(request.Text, "text");   // what is hashed and encoded
        if (text.Length == 0) throw new InvalidFieldException("text", "must not be empty");
        ClientText.CheckSize(text, "text", options.MaxTextBytes);
        var loaded = encoder.Require();
        loaded.CheckFits(text, "text");   // before any model work: a text beyond the context would only cost time and memory

        var (vector, outcome) = await cache.GetOrComputeAsync(loaded.EncoderId, loaded.Dimension, text,
            ct => encoder.EncodeAsync(loaded, text, ct), context.CancellationToken).ConfigureAwait(false);
        encoder.CacheLookups.Add(1, new KeyValuePair<string, object?>("outcome", outcome switch
        {
            CacheOutcome.Hit => "hit",
            CacheOutcome.Miss => "miss",
            _ => "bypassed",
        }));
        var response = new EmbedResponse { EncoderId = loaded.EncoderId, Cache = outcome };
        response.Vector.AddRange(vector);
        return response;
    }
}

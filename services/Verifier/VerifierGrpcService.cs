using Grpc.Core;
using Sprint.Contracts.V1;

namespace Sprint.Verifier;

/// <summary>Check, Watch and VerifierInfo over the injected <see cref="CandidateVerifier"/>.</summary>
public sealed class VerifierGrpcService(CandidateVerifier verifier, CandidateWatch watch) : VerifierService.VerifierServiceBase
{
    public override async Task Watch(IAsyncStreamReader<WatchRequest> requestStream, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context)
    {
        await context.WriteResponseHeadersAsync([]).ConfigureAwait(false);   // at once: the caller knows the stream is up before any line ends
        await foreach (var response in watch.WatchAsync(requestStream, context.CancellationToken).ConfigureAwait(false))
            await responseStream.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
    }

    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context) => verifier.CheckAsync(request, context.CancellationToken);

    public override Task<VerifierInfoResponse> VerifierInfo(VerifierInfoRequest request, ServerCallContext context) => Task.FromResult(verifier.Info());
}

using Grpc.Core;
using Sprint.Contracts.V1;

namespace Sprint.Verifier;

/// <summary>Check and VerifierInfo over the injected <see cref="CandidateVerifier"/>.</summary>
public sealed class VerifierGrpcService(CandidateVerifier verifier) : VerifierService.VerifierServiceBase
{
    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context) => verifier.CheckAsync(request, context.CancellationToken);

    public override Task<VerifierInfoResponse> VerifierInfo(VerifierInfoRequest request, ServerCallContext context) => Task.FromResult(verifier.Info());
}

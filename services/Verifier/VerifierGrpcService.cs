using Grpc.Core;
using Sprint.Contracts.V1;

namespace Sprint.Verifier;

/// <summary>Check over the injected <see cref="StepVerifier"/>.</summary>
public sealed class VerifierGrpcService(StepVerifier verifier) : VerifierService.VerifierServiceBase
{
    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context) => Task.FromResult(verifier.Check(request));
}

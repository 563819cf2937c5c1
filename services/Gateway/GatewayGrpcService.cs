using Grpc.Core;
using Sprint.Contracts.V1;

namespace Sprint.Gateway;

/// <summary>Solve over gRPC (and gRPC-Web and HTTP/JSON, which reach the same method), as glue over <see cref="Solver"/>.</summary>
public sealed class GatewayGrpcService(Solver solver) : GatewayService.GatewayServiceBase
{
    public override async Task Solve(SolveRequest request, IServerStreamWriter<SolveResponse> responseStream, ServerCallContext context)
    {
        await foreach (var e in solver.SolveAsync(request, context.GetHttpContext(), context.Deadline, context.CancellationToken).ConfigureAwait(false))
            await responseStream.WriteAsync(e, context.CancellationToken).ConfigureAwait(false);
    }
}

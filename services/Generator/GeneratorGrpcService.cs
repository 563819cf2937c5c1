using Grpc.Core;
using Sprint.Contracts.V1;

namespace Sprint.Generator;

/// <summary>Generate, GenerateGroup, SteerGroup and ModelInfo, as glue over <see cref="GenerationStreams"/>; a caller's requests are charged to its token budget.</summary>
public sealed class GeneratorGrpcService(GenerationStreams streams, Sprint.ServiceDefaults.TokenBudget budget) : GeneratorService.GeneratorServiceBase
{
    public override async Task Generate(GenerateRequest request, IServerStreamWriter<GenerateResponse> responseStream, ServerCallContext context)
    {
        await foreach (var message in streams.Generate(request, context.CancellationToken, tokens => budget.Charge(context.GetHttpContext(), tokens)).ConfigureAwait(false))
            await responseStream.WriteAsync(message, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task GenerateGroup(GenerateGroupRequest request, IServerStreamWriter<GenerateGroupResponse> responseStream, ServerCallContext context)
    {
        await foreach (var message in streams.GenerateGroup(request, context.CancellationToken, tokens => budget.Charge(context.GetHttpContext(), tokens)).ConfigureAwait(false))
            await responseStream.WriteAsync(message, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task SteerGroup(IAsyncStreamReader<SteerGroupRequest> requestStream, IServerStreamWriter<SteerGroupResponse> responseStream, ServerCallContext context)
    {
        await foreach (var message in streams.SteerGroup(requestStream, context.CancellationToken, tokens => budget.Charge(context.GetHttpContext(), tokens)).ConfigureAwait(false))
            await responseStream.WriteAsync(message, context.CancellationToken).ConfigureAwait(false);
    }

    public override Task<ModelInfoResponse> ModelInfo(ModelInfoRequest request, ServerCallContext context) => Task.FromResult(streams.ModelInfo());
}

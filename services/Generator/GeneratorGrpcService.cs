using Grpc.Core;
using Sprint.Contracts.V1;

namespace Sprint.Generator;

/// <summary>Generate, GenerateGroup and ModelInfo, as glue over <see cref="GenerationStreams"/>.</summary>
public sealed class GeneratorGrpcService(GenerationStreams streams) : GeneratorService.GeneratorServiceBase
{
    public override async Task Generate(GenerateRequest request, IServerStreamWriter<GenerateResponse> responseStream, ServerCallContext context)
    {
        await foreach (var message in streams.Generate(request, context.CancellationToken).ConfigureAwait(false))
            await responseStream.WriteAsync(message, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task GenerateGroup(GenerateGroupRequest request, IServerStreamWriter<GenerateGroupResponse> responseStream, ServerCallContext context)
    {
        await foreach (var message in streams.GenerateGroup(request, context.CancellationToken).ConfigureAwait(false))
            await responseStream.WriteAsync(message, context.CancellationToken).ConfigureAwait(false);
    }

    public override Task<ModelInfoResponse> ModelInfo(ModelInfoRequest request, ServerCallContext context) => Task.FromResult(streams.ModelInfo());
}

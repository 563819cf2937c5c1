using Grpc.Core;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.HeadSelector;

public sealed class HeadSelectorGrpcService(SelectorModel model) : HeadSelectorService.HeadSelectorServiceBase
{
    public override Task<SelectResponse> Select(SelectRequest request, ServerCallContext context)
    {
        var artifact = model.Artifact ?? throw Invalid.Loading("the selector");
        var meta = artifact.Metadata;
        if (request.Vector.Count != meta.InputDim)
            throw Invalid.Argument("vector", $"has {request.Vector.Count} dimensions; this selector takes {meta.InputDim}");
        if (request.Vector.Any(v => !float.IsFinite(v))) throw Invalid.Argument("vector", "contains NaN or infinity");
        if (request.K < 1 || request.K > meta.Configs.Count)
            throw Invalid.Argument("k", $"must be in 1..{meta.Configs.Count} (the selector's configurations), got {request.K}");
        if (request.ModelId.Length > 0 && request.ModelId != meta.ModelId)
            throw Invalid.Argument("model_id", $"the selector was trained for '{meta.ModelId}', not '{request.ModelId}'");
        if (request.EncoderId.Length > 0 && request.EncoderId != meta.EncoderId)
            throw Invalid.Argument("encoder_id", $"the selector takes vectors of '{meta.EncoderId}', not '{request.EncoderId}'");

        var response = new SelectResponse();
        foreach (var (index, score) in artifact.Rank(request.Vector.ToArray()).Take(request.K))
            response.Configurations.Add(new ScoredConfiguration { Configuration = HeadConfigurations.FromName(meta.Configs[index]), Score = score });
        return Task.FromResult(response);
    }

    public override Task<SelectorInfoResponse> SelectorInfo(SelectorInfoRequest request, ServerCallContext context)
    {
        var meta = (model.Artifact ?? throw Invalid.Loading("the selector")).Metadata;
        var response = new SelectorInfoResponse
        {
            ModelId = meta.ModelId,
            EncoderId = meta.EncoderId,
            InputDim = meta.InputDim,
            Tau = (float)meta.Tau,
            TrainingDataSha256 = meta.TrainingDataSha256,
        };
        response.Configurations.AddRange(meta.Configs);
        return Task.FromResult(response);
    }
}

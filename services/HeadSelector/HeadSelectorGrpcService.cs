using Grpc.Core;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.ServiceDefaults;

namespace Sprint.HeadSelector;

/// <summary>Select and SelectorInfo over the loaded artifact (FAILED_PRECONDITION when there is none for this model).</summary>
public sealed class HeadSelectorGrpcService(SelectorLoader model) : HeadSelectorService.HeadSelectorServiceBase
{
    public override Task<SelectResponse> Select(SelectRequest request, ServerCallContext context)
    {
        var artifact = model.Require();
        var meta = artifact.Metadata;
        if (request.Vector.Count != meta.InputDim)
            throw new InvalidFieldException("vector", $"has {request.Vector.Count} dimensions; this selector takes {meta.InputDim}");
        if (request.Vector.Any(v => !float.IsFinite(v))) throw new InvalidFieldException("vector", "contains NaN or infinity");
        if (request.K < 1 || request.K > meta.Configs.Count)
            throw new InvalidFieldException("k", $"must be in 1..{meta.Configs.Count} (the selector's configurations), got {request.K}");
        if (request.ModelId.Length > 0 && request.ModelId != meta.ModelId)
            throw new InvalidFieldException("model_id", $"the selector was trained for '{meta.ModelId}', not '{Quote.Short(request.ModelId)}'");
        if (request.EncoderId.Length > 0 && request.EncoderId != meta.EncoderId)
            throw new InvalidFieldException("encoder_id", $"the selector takes vectors of '{meta.EncoderId}', not '{Quote.Short(request.EncoderId)}'");

        var response = new SelectResponse();
        foreach (var (index, score) in artifact.Rank(request.Vector.ToArray()).Take(request.K))
            response.Configurations.Add(new ScoredConfiguration { Configuration = HeadConfig.Parse(meta.Configs[index]).ToProto(), Score = score });
        return Task.FromResult(response);
    }

    public override Task<SelectorInfoResponse> SelectorInfo(SelectorInfoRequest request, ServerCallContext context)
    {
        var meta = (model.Require()).Metadata;
        var response = new SelectorInfoResponse
        {
            ModelId = meta.ModelId,
            EncoderId = meta.EncoderId,
            InputDim = meta.InputDim,
            Tau = (float)meta.Tau,
            TrainingDataSha256 = meta.TrainingDataSha256,
        };
        response.Configurations.AddRange(meta.Configs);
        response.GlobalRanking.AddRange(meta.GlobalRanking);
        return Task.FromResult(response);
    }
}

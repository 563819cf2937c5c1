using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Sprint.Suite;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.Services.Tests;

/// <summary>
/// A second checkpoint (the shipped weights under another model id, in a folder of its own) with no selector: the
/// suite serves every strategy that needs none, says which part is missing, and refuses a selector of another model.
/// </summary>
public sealed class BringYourOwnModelTests : IDisposable
{
    readonly string model = Path.Combine(Directory.CreateTempSubdirectory("sprint-byo").FullName, "my-model");

    public BringYourOwnModelTests()
    {
        Directory.CreateDirectory(model);
        foreach (var file in Directory.GetFiles(Paths.Model).Where(f => !Path.GetFileName(f).StartsWith("selector", StringComparison.Ordinal)
                     && !Path.GetFileName(f).StartsWith("profile", StringComparison.Ordinal) && !f.EndsWith(".md") && !f.EndsWith(".png")))
            File.Copy(file, Path.Combine(model, Path.GetFileName(file)));
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(model)!, recursive: true);

    static async Task<(Microsoft.AspNetCore.Builder.WebApplication App, GrpcChannel Channel)> Start(string modelDir, string? selector)
    {
        var app = InProcessSuite.Build(0, modelDir, selector, redis: null, quiet: true, ["--Generator:Threads=1", "--Embedding:Threads=1"]);
        await app.StartAsync();
        await InProcessSuite.WaitReadyAsync(app, TimeSpan.FromMinutes(2), CancellationToken.None);
        return (app, GrpcChannel.ForAddress(app.GrpcAddress()));
    }

    [Fact(Timeout = 300_000)]
    public async Task Without_a_selector_the_suite_serves_the_other_strategies_and_sprint_says_how_to_make_one()
    {
        var (app, channel) = await Start(model, selector: null);
        await using var _ = app;
        using var __ = channel;
        var health = new Health.HealthClient(channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing,
            (await health.CheckAsync(new HealthCheckRequest { Service = "sprint.v1.HeadSelectorService" })).Status);

        var gateway = new GatewayService.GatewayServiceClient(channel);
        foreach (var strategy in new[] { Strategy.Sampling, Strategy.RandomHeads, Strategy.Greedy })
        {
            var (plan, results, verdict) = Rpc.AssertWellFormed(await Rpc.Solve(gateway, new SolveRequest { Question = Rpc.Question, N = 2, Strategy = strategy, MaxNewTokens = 16, Seed = 3 }));
            Assert.Equal(strategy, plan.Strategy);
            Assert.All(results, r => Assert.Equal("", r.Error));
        }
        foreach (var strategy in new[] { Strategy.Sprint, Strategy.GlobalTop, Strategy.Unspecified })
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => Rpc.Solve(gateway, new SolveRequest { Question = Rpc.Question, N = 2, Strategy = strategy }));
            Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
            Assert.Contains("sprint train-selector", e.Status.Detail);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task A_selector_trained_for_another_model_is_refused_at_load()
    {
        var (app, channel) = await Start(model, selector: Paths.Selector);
        await using var _ = app;
        using var __ = channel;
        var selector = new HeadSelectorService.HeadSelectorServiceClient(channel);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await selector.SelectorInfoAsync(new SelectorInfoRequest()));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("trained for model 'sprint-tiny-math', not 'my-model'", e.Status.Detail);
        var solve = await Assert.ThrowsAsync<RpcException>(() => Rpc.Solve(new GatewayService.GatewayServiceClient(channel),
            new SolveRequest { Question = Rpc.Question, N = 2, Strategy = Strategy.Sprint }));
        Assert.Equal(StatusCode.FailedPrecondition, solve.StatusCode);
    }

    [Fact]
    public void A_selector_whose_heads_are_outside_the_model_is_refused()
    {
        using var artifact = Sprint.Selection.SelectorArtifact.Load(Paths.Selector);
        var e = Assert.Throws<Core.FailedPreconditionException>(() => artifact.Metadata.CheckServes("sprint-tiny-math", new Core.ModelShape(2, 8)));
        Assert.Contains("is not a head of 'sprint-tiny-math' (2 layers × 8 heads)", e.Message);
        artifact.Metadata.CheckServes("sprint-tiny-math", new Core.ModelShape(4, 8));
    }
}

using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Sprint.Contracts.V1;
using Sprint.Inference;
using Sprint.Selection;
using Sprint.Pipeline.Selection;

namespace Sprint.Services.Tests;

[Collection(SuiteCollection.Name)]
public sealed class EmbeddingSelectorTests(SuiteFixture suite)
{
    [Fact(Timeout = 300_000)]
    public async Task Embed_returns_the_question_encoders_vector_then_serves_it_from_the_cache()
    {
        var question = $"Ada has {Random.Shared.Next(1000, 9999)} marbles. How many marbles does Ada have?";
        var first = await suite.Embedding.EmbedAsync(new EmbedRequest { Text = "  " + question + "\n" });
        var second = await suite.Embedding.EmbedAsync(new EmbedRequest { Text = question });
        Assert.Equal(CacheOutcome.Miss, first.Cache);
        Assert.Equal(CacheOutcome.Hit, second.Cache);
        Assert.Equal(first.Vector, second.Vector);

        using var lm = LanguageModel.Load(Paths.Model);
        var encoder = new QuestionEncoder(lm);
        Assert.Equal(encoder.EncoderId, first.EncoderId);
        var expected = encoder.Encode([question])[0];
        Assert.Equal(expected.Length, first.Vector.Count);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], first.Vector[i], 5);
    }

    [Fact(Timeout = 300_000)]
    public async Task Embed_refuses_empty_and_over_long_text()
    {
        await Rpc.AssertInvalid(() => suite.Embedding.EmbedAsync(new EmbedRequest { Text = " \t" }).ResponseAsync, "text");
        await Rpc.AssertInvalid(() => suite.Embedding.EmbedAsync(new EmbedRequest { Text = new string('x', 9000) }).ResponseAsync, "text");
    }

    [Fact(Timeout = 300_000)]
    public async Task Select_returns_the_artifacts_top_k_best_first()
    {
        var vector = (await suite.Embedding.EmbedAsync(new EmbedRequest { Text = Rpc.Question })).Vector;
        var request = new SelectRequest { K = 6, ModelId = "sprint-tiny-math" };
        request.Vector.AddRange(vector);
        var reply = await suite.Selector.SelectAsync(request);

        using var artifact = SelectorArtifact.Load(Paths.Selector);
        var expected = artifact.TopK(vector.ToArray(), 6).Select(i => artifact.Metadata.Configs[i]);
        Assert.Equal(expected, reply.Configurations.Select(c => c.Configuration.Name));
        Assert.True(reply.Configurations.Zip(reply.Configurations.Skip(1)).All(p => p.First.Score >= p.Second.Score));
        Assert.All(reply.Configurations.Where(c => c.Configuration.Name != "none"), c => Assert.Single(c.Configuration.PrunedHeads));

        var info = await suite.Selector.SelectorInfoAsync(new SelectorInfoRequest());
        Assert.Equal(artifact.Metadata.Configs, info.Configurations);
    }

    [Theory(Timeout = 300_000)]
    [InlineData(255, 4, "", "", "vector")]
    [InlineData(256, 0, "", "", "k")]
    [InlineData(256, 34, "", "", "k")]
    [InlineData(256, 4, "qwen2.5-math-1.5b", "", "model_id")]
    [InlineData(256, 4, "", "other:mean:l2", "encoder_id")]
    public async Task Select_refuses_mismatched_input(int dim, int k, string modelId, string encoderId, string field)
    {
        var request = new SelectRequest { K = k, ModelId = modelId, EncoderId = encoderId };
        request.Vector.AddRange(Enumerable.Repeat(0.0625f, dim));
        await Rpc.AssertInvalid(() => suite.Selector.SelectAsync(request).ResponseAsync, field);
    }

    /// <summary>Issue 21's finding: the selector echoed model_id and encoder_id unbounded; one quoting rule bounds and escapes them.</summary>
    [Fact(Timeout = 30_000)]
    public async Task Select_echoes_a_huge_id_bounded_and_escaped()
    {
        foreach (var (modelId, encoderId, field) in new[] { (new string('m', 100_000) + "\u2028", "", "model_id"), ("", new string('e', 100_000), "encoder_id") })
        {
            var request = new SelectRequest { K = 4, ModelId = modelId, EncoderId = encoderId };
            request.Vector.AddRange(Enumerable.Repeat(0.0625f, 256));
            var e = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => suite.Selector.SelectAsync(request).ResponseAsync);
            Assert.StartsWith(field + ":", e.Status.Detail);
            Assert.True(e.Status.Detail.Length < 300, $"{e.Status.Detail.Length} characters");
            Assert.DoesNotContain('\u2028', e.Status.Detail);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task Every_service_reports_serving_and_is_listed_by_reflection()
    {
        var health = new Health.HealthClient(suite.Channel);
        foreach (var service in new[] { "", "sprint.v1.GatewayService", "sprint.v1.GeneratorService", "sprint.v1.EmbeddingService", "sprint.v1.HeadSelectorService" })
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = service })).Status);

        using var call = new ServerReflection.ServerReflectionClient(suite.Channel).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("sprint.v1.GatewayService", names);
        Assert.Contains("sprint.v1.GeneratorService", names);
        Assert.Contains("grpc.health.v1.Health", names);
    }
}

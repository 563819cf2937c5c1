using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.Generator;
using Sprint.Inference;
using PrunedHead = Sprint.Contracts.V1.PrunedHead;

namespace Sprint.Services.Tests;

/// <summary>
/// The generator's stream service without a server: the shipped model loaded by a GeneratorEngine, the RPC's
/// messages produced by <see cref="GenerationStreams"/> directly.
/// </summary>
public sealed class GenerationStreamsTests : IAsyncLifetime
{
    sealed class Meters : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);
        public void Dispose() { }
    }

    readonly ModelCatalog catalog = new();
    readonly Meters meters = new();
    GeneratorEngine engine = null!;
    GenerationStreams streams = null!;

    public async Task InitializeAsync()
    {
        engine = new GeneratorEngine(new GeneratorOptions { Model = Paths.Model, Threads = 1, StreamInterval = TimeSpan.Zero }, catalog, meters,
            NullLogger<GeneratorEngine>.Instance);
        await engine.StartAsync(CancellationToken.None);
        for (var until = DateTime.UtcNow.AddMinutes(1); engine.Scheduler is null; await Task.Delay(50))
            if (DateTime.UtcNow > until) throw new TimeoutException("the model did not load");
        streams = new GenerationStreams(engine);
    }

    public async Task DisposeAsync()
    {
        await engine.StopAsync(CancellationToken.None);
        engine.Dispose();
        catalog.Dispose();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_group_streams_each_candidates_deltas_then_its_result()
    {
        var request = new GenerateGroupRequest
        {
            Prompt = Rpc.Question,
            Stopping = new StoppingParameters { MaxNewTokens = 48 },
            Candidates =
            {
                new GroupCandidate { Index = 3 },
                new GroupCandidate { Index = 5, PrunedHeads = { new PrunedHead { Layer = 1, Head = 5 } } },
            },
        };
        var messages = new List<GenerateGroupResponse>();
        await foreach (var m in streams.GenerateGroup(request, CancellationToken.None)) messages.Add(m);

        foreach (var index in new[] { 3, 5 })
        {
            var mine = messages.Where(m => m.Index == index).ToList();
            Assert.Equal(GenerateGroupResponse.EventOneofCase.Result, mine[^1].EventCase);   // the result last
            Assert.All(mine.SkipLast(1), m => Assert.Equal(GenerateGroupResponse.EventOneofCase.Delta, m.EventCase));
            var result = mine[^1].Result;
            Assert.Equal(result.Text, string.Concat(mine.SkipLast(1).Select(m => m.Delta.Text)));
            Assert.Equal(result.TokenIds, mine.SkipLast(1).SelectMany(m => m.Delta.TokenIds));
            Assert.Equal(result.TokenIds.Count > 0 ? mine.SkipLast(1).SelectMany(m => m.Delta.LogProbs).Average() : 0, result.MeanLogProb, 5);
            Assert.True(result.PromptTokens > 0);
        }
        Assert.Equal("21 - 8 = 13\n13 * 4 = 52\n\\boxed{52}", messages.Single(m => m.Index == 3 && m.Result is not null).Result.Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task Bad_groups_name_their_field_before_anything_is_queued()
    {
        async Task<string> FieldOf(GenerateGroupRequest request)
        {
            var e = await Assert.ThrowsAsync<InvalidFieldException>(async () =>
            {
                await foreach (var _ in streams.GenerateGroup(request, CancellationToken.None)) { }
            });
            return e.Field;
        }
        Assert.Equal("candidates", await FieldOf(new GenerateGroupRequest { Prompt = "q" }));
        Assert.Equal("candidates[1].index", await FieldOf(new GenerateGroupRequest { Prompt = "q", Candidates = { new GroupCandidate { Index = 2 }, new GroupCandidate { Index = 2 } } }));
        Assert.Equal("candidates[0].pruned_heads[0].layer", await FieldOf(new GenerateGroupRequest
        {
            Prompt = "q",
            Candidates = { new GroupCandidate { Index = 0, PrunedHeads = { new PrunedHead { Layer = 9, Head = 0 } } } },
        }));
        Assert.Equal("prompt", await FieldOf(new GenerateGroupRequest { Candidates = { new GroupCandidate() } }));
        Assert.Equal(0, engine.Scheduler!.Stats.ActiveSequences + engine.Scheduler.Stats.QueuedSequences);
    }

    [Fact]
    public void Model_info_describes_the_loaded_model()
    {
        var info = streams.ModelInfo();
        Assert.Equal("sprint-tiny-math", info.ModelId);
        Assert.True(info.Layers > 0 && info.Heads > 0 && info.ContextLength > 0);
    }
}

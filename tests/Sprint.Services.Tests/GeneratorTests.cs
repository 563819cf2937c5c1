using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Sprint.Contracts.V1;
using Sprint.Generator;

namespace Sprint.Services.Tests;

[Collection(SuiteCollection.Name)]
public sealed class GeneratorTests(SuiteFixture suite)
{
    [Fact(Timeout = 300_000)]
    public async Task Generate_streams_deltas_then_one_result_that_adds_them_up()
    {
        var events = await Rpc.ReadAll(suite.Generator.Generate(new GenerateRequest { Prompt = Rpc.Question, Stopping = new StoppingParameters { MaxNewTokens = 64 } }));
        var result = Assert.Single(events, e => e.EventCase == GenerateResponse.EventOneofCase.Result).Result;
        Assert.Equal(GenerateResponse.EventOneofCase.Result, events[^1].EventCase);
        var deltas = events.SkipLast(1).Select(e => e.Delta).ToList();
        Assert.Equal(result.TokenIds, deltas.SelectMany(d => d.TokenIds));
        Assert.Equal(result.Text, string.Concat(deltas.Select(d => d.Text)));
        Assert.Equal("21 - 8 = 13\n13 * 4 = 52\n\\boxed{52}", result.Text.Trim());
        Assert.Equal(FinishReason.Stop, result.FinishReason);
        Assert.Equal(deltas.SelectMany(d => d.LogProbs).Average(p => (double)p), result.MeanLogProb, 4);
        Assert.Single(deltas[0].TokenIds);   // the first token alone
        Assert.True(result.TimeToFirstTokenMs > 0 && result.PromptTokens > 10);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_pruned_head_changes_the_decoding_and_raw_prompts_are_not_templated()
    {
        var unpruned = await Final(new GenerateRequest { Prompt = Rpc.Question, Format = PromptFormat.Raw, Stopping = new StoppingParameters { MaxNewTokens = 24 } });
        var pruned = new GenerateRequest { Prompt = Rpc.Question, Format = PromptFormat.Raw, Stopping = new StoppingParameters { MaxNewTokens = 24 } };
        pruned.PrunedHeads.Add(new PrunedHead { Layer = 0, Head = 0 });
        pruned.PrunedHeads.Add(new PrunedHead { Layer = 1, Head = 3 });
        var prunedResult = await Final(pruned);
        Assert.True(prunedResult.PromptTokens == unpruned.PromptTokens);
        Assert.NotEqual(unpruned.TokenIds, prunedResult.TokenIds);
        var chat = await Final(new GenerateRequest { Prompt = Rpc.Question, Stopping = new StoppingParameters { MaxNewTokens = 1 } });
        Assert.True(chat.PromptTokens > unpruned.PromptTokens, "the chat template adds tokens");
    }

    [Fact(Timeout = 300_000)]
    public async Task ModelInfo_describes_the_loaded_model()
    {
        var info = await suite.Generator.ModelInfoAsync(new ModelInfoRequest());
        Assert.Equal("sprint-tiny-math", info.ModelId);
        Assert.Equal((4, 8, 2, 512, 512), (info.Layers, info.Heads, info.KvHeads, info.ContextLength, info.VocabSize));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_group_streams_each_candidate_tagged_and_equal_to_its_own_generate()
    {
        (int Index, int Layer, int Head)[] members = [(7, -1, -1), (2, 1, 5), (9, 3, 3), (4, 0, 2)];
        var group = new GenerateGroupRequest { Prompt = Rpc.Question, Stopping = new StoppingParameters { MaxNewTokens = 48 } };
        foreach (var (index, layer, head) in members)
        {
            var c = new GroupCandidate { Index = index };
            if (layer >= 0) c.PrunedHeads.Add(new PrunedHead { Layer = layer, Head = head });
            group.Candidates.Add(c);
        }
        var events = await Rpc.ReadAll(suite.Generator.GenerateGroup(group));
        foreach (var (index, layer, head) in members)
        {
            var own = events.Where(e => e.Index == index).ToList();
            var result = Assert.Single(own, e => e.EventCase == GenerateGroupResponse.EventOneofCase.Result).Result;
            Assert.Equal(GenerateGroupResponse.EventOneofCase.Result, own[^1].EventCase);   // nothing after its result
            Assert.Equal(result.TokenIds, own.SkipLast(1).SelectMany(e => e.Delta.TokenIds));
            Assert.Equal(result.Text, string.Concat(own.SkipLast(1).Select(e => e.Delta.Text)));
            // The same tokens as the candidate decoded on its own (the group shares its prefill, exactly).
            var single = new GenerateRequest { Prompt = Rpc.Question, Stopping = new StoppingParameters { MaxNewTokens = 48 } };
            if (layer >= 0) single.PrunedHeads.Add(new PrunedHead { Layer = layer, Head = head });
            Assert.Equal((await Final(single)).TokenIds, result.TokenIds);
        }
        Assert.Equal(members.Select(m => m.Index).Order(), events.Select(e => e.Index).Distinct().Order());
    }

    public static IEnumerable<object[]> BadGroups()
    {
        yield return [new GenerateGroupRequest { Prompt = "x" }, "candidates"];
        yield return [new GenerateGroupRequest { Candidates = { new GroupCandidate() } }, "prompt"];
        yield return [new GenerateGroupRequest { Prompt = "x", Candidates = { new GroupCandidate { Index = 1 }, new GroupCandidate { Index = 1 } } }, "candidates[1].index"];
        yield return [new GenerateGroupRequest { Prompt = "x", Candidates = { new GroupCandidate(), new GroupCandidate { Index = 1, Sampling = new() { Temperature = -1 } } } },
            "candidates[1].sampling.temperature"];
        yield return [new GenerateGroupRequest { Prompt = "x", Candidates = { new GroupCandidate { PrunedHeads = { new PrunedHead { Layer = 9 } } } } }, "candidates[0].pruned_heads[0].layer"];
        yield return [new GenerateGroupRequest { Prompt = "x", Candidates = { new GroupCandidate() }, Stopping = new() { MaxNewTokens = 600 } }, "stopping.max_new_tokens"];
        var many = new GenerateGroupRequest { Prompt = "x" };
        many.Candidates.AddRange(Enumerable.Range(0, 65).Select(i => new GroupCandidate { Index = i }));
        yield return [many, "candidates"];
    }

    [Theory(Timeout = 300_000)]
    [MemberData(nameof(BadGroups))]
    public Task Bad_groups_are_invalid_argument_naming_the_field(GenerateGroupRequest request, string field) =>
        Rpc.AssertInvalid(() => Rpc.ReadAll(suite.Generator.GenerateGroup(request)), field);

    public static IEnumerable<object[]> BadRequests()
    {
        yield return [new GenerateRequest(), "prompt"];
        yield return [new GenerateRequest { Prompt = "x", Sampling = new() { Temperature = -1 } }, "sampling.temperature"];
        yield return [new GenerateRequest { Prompt = "x", Sampling = new() { Temperature = float.NaN } }, "sampling.temperature"];
        yield return [new GenerateRequest { Prompt = "x", Sampling = new() { Temperature = 1.4e-45f } }, "sampling.temperature"];   // denormal: was INTERNAL
        yield return [new GenerateRequest { Prompt = "x", Sampling = new() { TopK = -2 } }, "sampling.top_k"];
        yield return [new GenerateRequest { Prompt = "x", Sampling = new() { TopP = 1.5f } }, "sampling.top_p"];
        yield return [new GenerateRequest { Prompt = "x", Stopping = new StoppingParameters { MaxNewTokens = -1 } }, "stopping.max_new_tokens"];
        yield return [new GenerateRequest { Prompt = "x", Stopping = new StoppingParameters { MaxNewTokens = 600 } }, "stopping.max_new_tokens"];
        yield return [new GenerateRequest { Prompt = "x", Format = (PromptFormat)9 }, "format"];
        yield return [new GenerateRequest { Prompt = new string('9', 3000), Format = PromptFormat.Raw }, "prompt"];
        yield return [new GenerateRequest { Prompt = "x", Stopping = new StoppingParameters { Stop = { "" } } }, "stopping.stop[0]"];
        yield return [new GenerateRequest { Prompt = "x", PrunedHeads = { new PrunedHead { Layer = 4, Head = 0 } } }, "pruned_heads[0].layer"];
        yield return [new GenerateRequest { Prompt = "x", PrunedHeads = { new PrunedHead(), new PrunedHead { Layer = 1, Head = 8 } } }, "pruned_heads[1].head"];
    }

    [Theory(Timeout = 300_000)]
    [MemberData(nameof(BadRequests))]
    public Task Bad_requests_are_invalid_argument_naming_the_field(GenerateRequest request, string field) =>
        Rpc.AssertInvalid(() => Rpc.ReadAll(suite.Generator.Generate(request)), field);

    /// <summary>
    /// Issue 21's finding: a prompt near the message size limit used to be tokenized in full before the context check.
    /// It is refused by its size first, naming the field, in milliseconds.
    /// </summary>
    [Fact(Timeout = 30_000)]
    public async Task A_huge_prompt_is_refused_before_tokenizing()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(() => Rpc.ReadAll(suite.Generator.Generate(new GenerateRequest { Prompt = new string('7', 900 * 1024) })));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("prompt: 921600 bytes exceeds the 32768-byte limit", e.Status.Detail);
        Console.WriteLine($"refused in {clock.ElapsedMilliseconds} ms");
    }

    [Fact(Timeout = 300_000)]
    public async Task A_cancelled_call_leaves_the_batch_at_once()
    {
        using var cts = new CancellationTokenSource();
        var call = suite.Generator.Generate(new GenerateRequest { Prompt = Rpc.Question, Stopping = new StoppingParameters { MaxNewTokens = 400, IgnoreEos = true } },
            cancellationToken: cts.Token);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        cts.Cancel();
        var e = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext(CancellationToken.None)) { } });
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        call.Dispose();
        await Rpc.AssertBatchDrains(suite);
    }

    async Task<GenerationResult> Final(GenerateRequest request) => (await Rpc.ReadAll(suite.Generator.Generate(request)))[^1].Result;
}

using Sprint.Core;
using Sprint.Inference.Generation;
using Sprint.Inference.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Inference.Tests;

/// <summary>The continuous-batching scheduler and the KV cache, on the golden model.</summary>
public sealed class SchedulerTests(GoldenModelFixture fixture) : IClassFixture<GoldenModelFixture>
{
    static Golden G => Golden.Instance;
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    static GenerationRequest Greedy(Golden.Case c, int maxNew = 24) => new()
    {
        PromptIds = c.InputIds,
        PrunedHeads = c.PrunedHeads,
        Stopping = new StoppingCriteria { MaxNewTokens = maxNew, IgnoreEos = true },
    };

    /// <summary>The stats once the decode thread has no row left (a finished sequence's consumer can see its last event before the row leaves).</summary>
    static async Task<EngineStats> Settled(BatchScheduler engine)
    {
        for (var until = DateTime.UtcNow + Timeout; engine.Stats.ActiveSequences > 0 && DateTime.UtcNow < until;) await Task.Delay(5);
        return engine.Stats;
    }

    static async Task<List<GenerationEvent>> Collect(IAsyncEnumerable<GenerationEvent> events, CancellationToken ct = default)
    {
        var list = new List<GenerationEvent>();
        await foreach (var e in events.WithCancellation(ct)) list.Add(e);
        return list;
    }

    static int[] Tokens(List<GenerationEvent> events) => events.Where(e => e.TokenId is not null).Select(e => e.TokenId!.Value).ToArray();

    [Fact]
    public void Kv_cache_decoding_equals_full_recomputation()
    {
        using var _ = inference_mode();
        var c = G.Cases["medium/l1h3"];
        var sequence = c.InputIds.ToList();
        var (batch, logits) = DecodeBatch.Prefill(fixture.Model.Model, [sequence], [c.PrunedHeads]);
        using var __ = batch;
        var cached = logits;
        for (int step = 0; step < 16; step++)
        {
            var (fresh, recomputed) = DecodeBatch.Prefill(fixture.Model.Model, [sequence], [c.PrunedHeads]);
            fresh.Dispose();
            using (var diff = (cached - recomputed).abs().max())
                Assert.True(diff.item<float>() <= G.Tolerance, $"step {step}: cached vs recomputed logits differ by {diff.item<float>()}");
            int next = (int)cached.argmax(-1).item<long>();
            Assert.Equal(next, (int)recomputed.argmax(-1).item<long>());
            recomputed.Dispose();
            cached.Dispose();
            sequence.Add(next);
            cached = batch.Step([next]);
        }
        cached.Dispose();
        Assert.Equal(c.GreedyTokens.Take(16), sequence.Skip(c.InputIds.Length));
    }

    [Fact]
    public void Rows_join_and_leave_the_slot_cache_without_disturbing_the_others()
    {
        // Rows of three lengths and masks join in two groups, decode, two of them leave (one the longest), another
        // joins into a freed slot; every row keeps producing its golden greedy tokens throughout.
        using var _ = inference_mode();
        using var batch = new DecodeBatch(fixture.Model.Model);
        var rows = new List<(Golden.Case Case, List<int> Tokens)>();
        void Add(params string[] names)
        {
            var cases = names.Select(n => G.Cases[n]).ToList();
            using var logits = batch.Add(cases.Select(c => (IReadOnlyList<int>)c.InputIds).ToList(), cases.Select(c => (IReadOnlyList<PrunedHead>)c.PrunedHeads).ToList());
            using var chosen = logits.argmax(-1);
            var ids = chosen.data<long>().ToArray();
            for (int i = 0; i < cases.Count; i++) rows.Add((cases[i], [(int)ids[i]]));
        }
        void Steps(int count)
        {
            for (int s = 0; s < count; s++)
            {
                using var logits = batch.Step(rows.Select(r => r.Tokens[^1]).ToList());
                using var chosen = logits.argmax(-1);
                var ids = chosen.data<long>().ToArray();
                for (int i = 0; i < rows.Count; i++) rows[i].Tokens.Add((int)ids[i]);
            }
            foreach (var (c, tokens) in rows) Assert.Equal(c.GreedyTokens.Take(tokens.Count), tokens);
            for (int i = 0; i < rows.Count; i++) Assert.Equal(rows[i].Case.InputIds.Length + rows[i].Tokens.Count - 1, batch.RowLength(i));
        }

        Add("long/none", "short/l1h3", "medium/l3h0");
        Steps(5);
        Add("long/l1h3", "short/none");
        Steps(5);
        long allocated = batch.AllocatedTokens;
        long longest = batch.Length;
        var order = batch.Keep([1, 3, 4]);                 // long/none (the longest row) and medium/l3h0 leave
        Assert.Equal([3, 1, 4], order);                    // row 1 stays in place; rows 3 and 4 move into the holes
        var kept = order.Select(i => rows[i]).ToList();
        rows.Clear();
        rows.AddRange(kept);
        Assert.Equal(allocated, batch.AllocatedTokens);    // leaving frees slots, allocates nothing
        Assert.True(batch.Length < longest, "the attended width shrinks once the longest row has left");
        Steps(3);
        Add("medium/none");                                // into a freed slot: no allocation
        Assert.Equal(allocated, batch.AllocatedTokens);
        Steps(6);
        Assert.Equal(4, batch.Rows);
    }

    [Fact(Timeout = 60_000)]
    public async Task Concurrent_sequences_each_reproduce_their_golden_greedy_tokens()
    {
        using var engine = new BatchScheduler(fixture.Model);
        var cases = G.Cases.Values.ToList();
        var results = await Task.WhenAll(cases.Select(c => Collect(engine.Submit(Greedy(c))))).WaitAsync(Timeout);
        for (int i = 0; i < cases.Count; i++)
        {
            Assert.Equal(cases[i].GreedyTokens, Tokens(results[i]));
            Assert.Equal(FinishReason.Length, results[i][^1].Finish);
        }
        Assert.Equal(0, engine.Stats.ActiveSequences);
    }

    [Fact(Timeout = 60_000)]
    public async Task Held_admission_keeps_the_queue_waiting_while_running_rows_go_on_then_admits_it()
    {
        using var engine = new BatchScheduler(fixture.Model, new EngineOptions { MaxConcurrentSequences = 2 });
        var running = engine.Submit(Greedy(G.Cases["long/none"], 12)).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync());
        var cases = G.Cases.Values.Take(3).ToList();
        List<Task<List<GenerationEvent>>> held;
        var hold = engine.HoldAdmission();
        held = cases.Select(c => Collect(engine.Submit(Greedy(c)))).ToList();
        while (await running.MoveNextAsync()) { }   // the row already decoding finishes under the hold
        await Settled(engine);
        await Task.Delay(100);
        Assert.Equal(cases.Count, engine.Stats.QueuedSequences);   // nothing joined, though rows were free
        Assert.All(held, t => Assert.False(t.IsCompleted));
        hold.Dispose();
        hold.Dispose();   // a second release is a no-op, not a second hold released

        var results = await Task.WhenAll(held).WaitAsync(Timeout);
        for (int i = 0; i < cases.Count; i++)
        {
            Assert.Equal(cases[i].GreedyTokens, Tokens(results[i]));
            var times = results[i][^1].Times!;   // the final event's stage times: queued through the hold
            Assert.True(times.Queued >= TimeSpan.FromMilliseconds(100), $"queued {times.Queued}");
            Assert.True(times.Prefill > TimeSpan.Zero && times.Decode > TimeSpan.Zero);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Sequences_joining_a_running_batch_match_their_single_rows()
    {
        using var engine = new BatchScheduler(fixture.Model);
        var first = G.Cases["long/none"];
        var running = engine.Submit(Greedy(first)).GetAsyncEnumerator();
        var firstEvents = new List<GenerationEvent>();
        for (int i = 0; i < 5; i++) { Assert.True(await running.MoveNextAsync()); firstEvents.Add(running.Current); }

        // Joins while `long/none` is mid-flight: different lengths and masks share the batch.
        var late = new[] { G.Cases["short/l1h3"], G.Cases["medium/l3h0"] };
        var lateTasks = late.Select(c => Collect(engine.Submit(Greedy(c)))).ToList();
        while (await running.MoveNextAsync()) firstEvents.Add(running.Current);
        var lateResults = await Task.WhenAll(lateTasks).WaitAsync(Timeout);

        Assert.Equal(first.GreedyTokens, Tokens(firstEvents));
        for (int i = 0; i < late.Length; i++) Assert.Equal(late[i].GreedyTokens, Tokens(lateResults[i]));
    }

    [Fact(Timeout = 60_000)]
    public async Task Log_probabilities_are_those_of_the_model_distribution()
    {
        using var engine = new BatchScheduler(fixture.Model);
        var c = G.Cases["short/none"];
        var events = await Collect(engine.Submit(Greedy(c, maxNew: 1))).WaitAsync(Timeout);
        var logits = c.LastLogits.Select(x => (double)x).ToArray();
        double max = logits.Max();
        double logSumExp = max + Math.Log(logits.Sum(x => Math.Exp(x - max)));
        Assert.Equal(c.GreedyTokens[0], events[0].TokenId);
        Assert.Equal(logits[c.GreedyTokens[0]] - logSumExp, events[0].LogProb, 4);
    }

    [Fact(Timeout = 60_000)]
    public async Task Seeded_sampling_is_reproducible_and_seed_dependent()
    {
        using var engine = new BatchScheduler(fixture.Model);
        GenerationRequest Sampled(ulong seed) => Greedy(G.Cases["short/none"], 32) with
        {
            Sampling = new SamplingParams { Temperature = 1.0, TopP = 0.95, TopK = 100, Seed = seed },
        };
        var a = Tokens(await Collect(engine.Submit(Sampled(7))).WaitAsync(Timeout));
        // The same seed again, this time sharing the batch with other sequences.
        var together = await Task.WhenAll(Collect(engine.Submit(Sampled(7))), Collect(engine.Submit(Sampled(8))),
            Collect(engine.Submit(Greedy(G.Cases["long/l3h0"])))).WaitAsync(Timeout);
        Assert.Equal(a, Tokens(together[0]));
        Assert.NotEqual(a, Tokens(together[1]));
        // Sampling, not greedy decoding: the 32 greedy tokens of the same prompt differ from the sample.
        var greedy = Tokens(await Collect(engine.Submit(Greedy(G.Cases["short/none"], 32))).WaitAsync(Timeout));
        Assert.Equal(32, greedy.Length);
        Assert.NotEqual(greedy, a);
    }

    [Fact(Timeout = 60_000)]
    public async Task Top_k_of_one_is_greedy()
    {
        using var engine = new BatchScheduler(fixture.Model);
        var c = G.Cases["medium/none"];
        var request = Greedy(c) with { Sampling = new SamplingParams { Temperature = 0.7, TopK = 1, Seed = 3 } };
        Assert.Equal(c.GreedyTokens, Tokens(await Collect(engine.Submit(request)).WaitAsync(Timeout)));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_cancelled_sequence_leaves_the_batch_and_frees_its_slot()
    {
        using var engine = new BatchScheduler(fixture.Model, new EngineOptions { MaxConcurrentSequences = 1 });
        using var cts = new CancellationTokenSource();
        var c = G.Cases["short/none"];
        var longRunning = engine.Submit(Greedy(c, maxNew: 480), cts.Token).GetAsyncEnumerator(CancellationToken.None);
        Assert.True(await longRunning.MoveNextAsync());
        // The only slot is taken: this one queues behind it.
        var waiting = Collect(engine.Submit(Greedy(G.Cases["medium/l1h3"])));
        Assert.Equal(1, engine.Stats.QueuedSequences);

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => { while (await longRunning.MoveNextAsync()) { } });

        Assert.Equal(G.Cases["medium/l1h3"].GreedyTokens, Tokens(await waiting.WaitAsync(Timeout)));
        var stats = await Settled(engine);
        Assert.Equal(0, stats.ActiveSequences);
        Assert.Equal(0, stats.AllocatedCacheTokens);
        // The cancelled row left before its 480 tokens, which would have come before the waiting sequence's 24 (the
        // steps it runs until the cancellation arrives vary with the machine's load, so they are not counted).
        Assert.True(stats.Steps < 24 + 480, $"the cancelled row kept decoding: {stats.Steps} steps in all");
    }

    [Fact(Timeout = 60_000)]
    public async Task Abandoning_the_stream_cancels_the_sequence()
    {
        using var engine = new BatchScheduler(fixture.Model, new EngineOptions { MaxConcurrentSequences = 1 });
        await foreach (var e in engine.Submit(Greedy(G.Cases["short/none"], maxNew: 480)))
            break;
        var next = await Collect(engine.Submit(Greedy(G.Cases["short/l3h0"]))).WaitAsync(Timeout);
        Assert.Equal(G.Cases["short/l3h0"].GreedyTokens, Tokens(next));
        // One row at a time: had the abandoned row (480 tokens) kept its slot, the second could only have started
        // after it, at 504 steps or more (the steps it runs until the consumer's break arrives vary with the load).
        Assert.True((await Settled(engine)).Steps < 24 + 480, "the abandoned row kept decoding");
    }

    [Fact(Timeout = 60_000)]
    public async Task Reject_policy_refuses_beyond_the_limits_with_a_clear_error()
    {
        using var engine = new BatchScheduler(fixture.Model, new EngineOptions { MaxConcurrentSequences = 1, WhenFull = AdmissionPolicy.Reject });
        using var cts = new CancellationTokenSource();
        var running = engine.Submit(Greedy(G.Cases["short/none"], maxNew: 400), cts.Token).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync());
        var error = Assert.Throws<EngineOverloadedException>(() => engine.Submit(Greedy(G.Cases["short/none"])));
        Assert.Contains("max 1 sequences", error.Message);
        cts.Cancel();
    }

    [Fact]
    public void Token_budget_counts_rows_times_the_longest_reservation()
    {
        var c = G.Cases["short/none"]; // 7 prompt tokens
        using (var small = new BatchScheduler(fixture.Model, new EngineOptions { MaxBatchTokens = 100, WhenFull = AdmissionPolicy.Reject }))
            Assert.Contains("budget", Assert.Throws<InvalidFieldException>(() => small.Submit(Greedy(c, maxNew: 94))).Message);

        // Rows as long as the context allows, so they are still decoding (for hundreds of steps) when the third comes.
        using var engine = new BatchScheduler(fixture.Model, new EngineOptions { MaxBatchTokens = 1000, WhenFull = AdmissionPolicy.Reject });
        using var cts = new CancellationTokenSource();
        _ = engine.Submit(Greedy(c, maxNew: 493), cts.Token); // 500 tokens reserved
        _ = engine.Submit(Greedy(c, maxNew: 493), cts.Token); // 2 x 500 = 1000: fits
        Assert.Throws<EngineOverloadedException>(() => engine.Submit(Greedy(c, maxNew: 1)));   // 3 rows x 500 > 1000
        cts.Cancel();
    }

    [Theory]
    [InlineData(4, 0, "pruned_heads[0].layer: 4 is outside 0..3")]
    [InlineData(0, 8, "pruned_heads[0].head: 8 is outside 0..7")]
    public void Out_of_range_pruned_heads_are_refused(int layer, int head, string message)
    {
        using var engine = new BatchScheduler(fixture.Model);
        var request = Greedy(G.Cases["short/none"]) with { PrunedHeads = [new PrunedHead(layer, head)] };
        var error = Assert.ThrowsAny<ArgumentException>(() => engine.Submit(request));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Empty_prompts_and_unknown_tokens_are_refused()
    {
        using var engine = new BatchScheduler(fixture.Model);
        Assert.Contains("prompt_ids", Assert.Throws<InvalidFieldException>(() => engine.Submit(new GenerationRequest { PromptIds = [] })).Message);
        Assert.Contains("vocabulary", Assert.Throws<InvalidFieldException>(() => engine.Submit(new GenerationRequest { PromptIds = [1, 384] })).Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task Live_tensors_do_not_grow_over_thousands_of_steps()
    {
        using var engine = new BatchScheduler(fixture.Model);
        async Task Round()
        {
            var cases = G.Cases.Values.Take(6).ToList();
            // Rows of different lengths finish at different steps, so rows leave and the cache is trimmed and regrown.
            await Task.WhenAll(cases.Select((c, i) => Collect(engine.Submit(Greedy(c, maxNew: 150 + 40 * i))))).WaitAsync(Timeout);
        }
        await Round();
        await Task.Delay(50);
        var baseline = engine.Stats;
        for (int i = 0; i < 6; i++) await Round();
        await Task.Delay(50);
        var after = engine.Stats;
        Assert.True(after.Steps - baseline.Steps >= 2000, $"only {after.Steps - baseline.Steps} steps ran");
        Assert.Equal(baseline.LiveTensors, after.LiveTensors);
    }
}

/// <summary>A failure inside the decode thread reaches the callers it concerns instead of leaving them waiting.</summary>
public sealed class SchedulerFailureTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_failed_prefill_fails_its_sequences_instead_of_leaving_them_waiting()
    {
        var c = Golden.Instance.Cases["short/none"];
        using var lm = LanguageModel.Load(Fixtures.GoldenModel);
        using var engine = new BatchScheduler(lm);
        var request = new GenerationRequest { PromptIds = c.InputIds, Stopping = new StoppingCriteria { MaxNewTokens = 4, IgnoreEos = true } };
        lm.Model.parameters().First().Dispose();   // every forward now throws inside TorchSharp
        var error = await Assert.ThrowsAnyAsync<Exception>(() => Drain(engine.Submit(request)).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.IsNotType<TimeoutException>(error);
        Assert.Equal(0, engine.Stats.ActiveSequences + engine.Stats.QueuedSequences);
    }

    [Fact(Timeout = 60_000)]
    public async Task Stats_account_for_the_decode_threads_time_by_phase()
    {
        var c = Golden.Instance.Cases["short/none"];
        using var lm = LanguageModel.Load(Fixtures.GoldenModel);
        using var engine = new BatchScheduler(lm);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
            Drain(engine.Submit(new GenerationRequest { PromptIds = c.InputIds, Stopping = new StoppingCriteria { MaxNewTokens = 8 + 8 * i, IgnoreEos = true } }))));
        var stats = engine.Stats;
        Assert.True(stats.Decoding > TimeSpan.Zero && stats.Joining > TimeSpan.Zero);
        Assert.True(stats.Decoding + stats.Joining + stats.Leaving <= clock.Elapsed);
    }

    static async Task Drain(IAsyncEnumerable<GenerationEvent> events)
    {
        await foreach (var _ in events) { }
    }
}

/// <summary>Stopping at EOS ids from config.json or generation_config.json.</summary>
public sealed class EosTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sprint-eos").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory(Timeout = 60_000)]
    [InlineData("config.json")]
    [InlineData("generation_config.json")]
    public async Task Decoding_stops_at_an_eos_token_of_either_config(string file)
    {
        var c = Golden.Instance.Cases["short/none"];
        int eos = c.GreedyTokens[5];
        int stopAt = Array.IndexOf(c.GreedyTokens, eos);
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(Fixtures.GoldenModel, f), Path.Combine(dir, f));
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        if (file == "config.json") config["eos_token_id"] = eos;
        else File.WriteAllText(Path.Combine(dir, file), $"{{\"eos_token_id\": [{eos}, 999]}}");
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());

        using var lm = LanguageModel.Load(dir);
        using var engine = new BatchScheduler(lm);
        var events = new List<GenerationEvent>();
        await foreach (var e in engine.Submit(new GenerationRequest { PromptIds = c.InputIds, Stopping = new StoppingCriteria { MaxNewTokens = 24 } })) events.Add(e);
        Assert.Equal(c.GreedyTokens.Take(stopAt + 1), events.Select(e => e.TokenId!.Value));
        Assert.Equal(FinishReason.Stop, events[^1].Finish);
    }
}

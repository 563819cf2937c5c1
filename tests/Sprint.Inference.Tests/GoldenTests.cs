using Sprint.Core;
using Sprint.Inference.Model;

namespace Sprint.Inference.Tests;

/// <summary>The engine against golden.json, computed by an independent PyTorch implementation of Hugging Face Qwen2.</summary>
public sealed class GoldenTests(GoldenModelFixture fixture) : IClassFixture<GoldenModelFixture>
{
    static Golden G => Golden.Instance;

    public static TheoryData<string> CaseNames() => new(Golden.Instance.Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Single_case_matches_logits_and_greedy_tokens(string name)
    {
        var c = G.Cases[name];
        var output = Conformance.Run(fixture.Model.Model, [(c.InputIds, c.PrunedHeads)], G.GreedySteps, batched: false)[0];
        AssertMatches(c, output);
    }

    [Fact]
    public void All_nine_cases_in_one_batch_match_their_single_rows()
    {
        var cases = G.Cases.Values.ToList();
        var outputs = Conformance.Run(fixture.Model.Model, cases.Select(c => ((IReadOnlyList<int>)c.InputIds, (IReadOnlyList<PrunedHead>)c.PrunedHeads)).ToList(), G.GreedySteps, batched: true);
        for (int i = 0; i < cases.Count; i++) AssertMatches(cases[i], outputs[i]);
    }

    [Theory]
    [InlineData("short/batch-3-masks")]
    [InlineData("mixed-lengths/batch-3-masks")]
    public void Golden_batched_entries_equal_their_single_rows(string name)
    {
        var rows = G.Batched.Single(b => b.Name == name).EqualsCases.Select(n => G.Cases[n]).ToList();
        var outputs = Conformance.Run(fixture.Model.Model, rows.Select(c => ((IReadOnlyList<int>)c.InputIds, (IReadOnlyList<PrunedHead>)c.PrunedHeads)).ToList(), G.GreedySteps, batched: true);
        for (int i = 0; i < rows.Count; i++) AssertMatches(rows[i], outputs[i]);
    }

    [Fact]
    public void The_nine_cases_share_their_prompts_prefill_below_each_rows_first_pruned_layer()
    {
        var cases = G.Cases.Values.ToList();
        var plan = SharedPrefix.Plan(cases.Select(c => (IReadOnlyList<int>)c.InputIds).ToList(), cases.Select(c => (IReadOnlyList<PrunedHead>)c.PrunedHeads).ToList(), 4);
        Assert.NotNull(plan);
        Assert.Equal(3, plan.FirstRow.Length);                                       // three prompts, three masks each
        Assert.Equal(cases.Select(c => c.PrunedHeads.Length == 0 ? 4 : c.PrunedHeads[0].Layer), plan.Depth);
        // Nothing to share: every prompt once, or every row pruned from layer 0.
        Assert.Null(SharedPrefix.Plan([[1, 2], [3, 4]], [[], []], 4));
        Assert.Null(SharedPrefix.Plan([[1, 2], [1, 2]], [[new PrunedHead(0, 1)], [new PrunedHead(0, 2)]], 4));
    }

    [Fact]
    public void A_shared_prefill_equals_separate_prefills_for_every_mask_mix()
    {
        // One prompt under every kind of row: unpruned, pruned in the first, a middle and the last layer, two heads
        // in different layers, plus a second prompt, all in one batch; each against its own unshared pass.
        var prompt = G.Cases["medium/none"].InputIds;
        var other = G.Cases["short/none"].InputIds;
        PrunedHead[][] masks = [[], [new(0, 2)], [new(2, 5)], [new(3, 7)], [new(1, 0), new(3, 1)], [new(2, 5)]];
        var rows = masks.Select(m => ((IReadOnlyList<int>)prompt, (IReadOnlyList<PrunedHead>)m))
            .Append(((IReadOnlyList<int>)other, (IReadOnlyList<PrunedHead>)[new PrunedHead(1, 1)]))
            .Append(((IReadOnlyList<int>)other, (IReadOnlyList<PrunedHead>)[])).ToList();
        Assert.NotNull(SharedPrefix.Plan(rows.Select(r => r.Item1).ToList(), rows.Select(r => r.Item2).ToList(), 4));
        var together = Conformance.Run(fixture.Model.Model, rows, G.GreedySteps, batched: true);
        for (int i = 0; i < rows.Count; i++)
        {
            var alone = Conformance.Run(fixture.Model.Model, [rows[i]], G.GreedySteps, batched: false)[0];
            for (int p = 0; p < alone.Logits.Length; p++) AssertClose(alone.Logits[p], together[i].Logits[p], $"row {i} logits[{p}]");
            Assert.Equal(alone.GreedyTokens, together[i].GreedyTokens);
        }
        Assert.Equal(together[2].GreedyTokens, together[5].GreedyTokens);   // the same prompt and mask twice
    }

    [Fact]
    public void Hidden_states_and_attention_entropies_have_their_shapes_and_bounds()
    {
        using var _ = TorchSharp.torch.inference_mode();
        var c = G.Cases["medium/none"];
        var model = fixture.Model.Model;
        var padded = PaddedPrompts.Left([c.InputIds], model.Device);
        var states = model.HiddenStates(padded.Ids, padded.Positions, padded.Attend);
        Assert.Equal(model.Config.NumLayers + 1, states.Length);
        using (var final = model.Forward(padded.Ids, padded.Positions, padded.Attend))
        using (var diff = (final - states[^1]).abs().max())
            Assert.True(diff.item<float>() < 1e-5, "the last hidden state is the final norm's output");
        using var entropies = model.AttentionEntropies(padded.Ids, padded.Positions, padded.Attend, padded.Valid(model.DType));
        Assert.Equal(new long[] { 1, model.Config.NumLayers * model.Config.NumHeads }, entropies.shape);
        var values = entropies.data<float>().ToArray();
        Assert.All(values, v => Assert.InRange(v, 0f, (float)Math.Log(c.InputIds.Length) + 1e-4f));   // at most uniform over the keys
        Assert.Contains(values, v => v > 0.1f);
        foreach (var s in states) s.Dispose();
    }

    internal static void AssertMatches(Golden.Case expected, ConformanceOutput actual)
    {
        AssertClose(expected.LastLogits, actual.LastLogits, $"{expected.Name} last_logits");
        if (expected.Logits is not null)
        {
            Assert.Equal(expected.Logits.Length, actual.Logits.Length);
            for (int i = 0; i < expected.Logits.Length; i++) AssertClose(expected.Logits[i], actual.Logits[i], $"{expected.Name} logits[{i}]");
        }
        Assert.Equal(expected.GreedyTokens, actual.GreedyTokens);
    }

    static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).Max();
        Assert.True(worst <= G.Tolerance, $"{what}: max |diff| {worst:E3} > {G.Tolerance:E0}");
    }
}

public sealed class GoldenModelFixture : IDisposable
{
    public LanguageModel Model { get; } = LanguageModel.Load(Fixtures.GoldenModel);
    public void Dispose() => Model.Dispose();
}

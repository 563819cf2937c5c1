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

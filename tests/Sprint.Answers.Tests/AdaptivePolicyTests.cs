namespace Sprint.Answers.Tests;

/// <summary>The adaptive wave rule, replayed on fixed candidates (what the gateway and sprint eval both run).</summary>
public sealed class AdaptivePolicyTests
{
    static Ballot<int> B(int i, string? answer, StepCheck? check) => new(i, answer, -1, check);
    static readonly StepCheck Ok = new(2, 0, null);
    static readonly StepCheck Bad = new(2, 1, new StepFailure(1, "2 + 2 = 5", "5", "4"));
    static readonly StepCheck Unchecked = StepCheck.None;

    [Fact]
    public void Decided_needs_agree_verified_candidates_and_no_verified_dissent()
    {
        var policy = new AdaptivePolicy(2, 2, 2);
        Assert.True(policy.Decided([B(0, "4", Ok), B(1, "4", Ok)]));
        Assert.False(policy.Decided([B(0, "4", Ok), B(1, "5", Ok), B(2, "4", Ok)]));   // verified dissent
        Assert.True(policy.Decided([B(0, "4", Ok), B(1, "5", Bad), B(2, "4.0", Ok)]));   // a failed step is no dissent
        Assert.False(policy.Decided([B(0, "4", Ok), B(1, "4", Unchecked)]));   // nothing checked is not verified
        Assert.False(policy.Decided([B(0, "4", Ok), B(1, "4", null)]));   // not checked at all (the verifier failed)
        Assert.False(policy.Decided([B(0, null, Ok), B(1, null, Ok)]));
    }

    [Fact]
    public void Waves_grow_by_the_wave_size_up_to_n_and_stop_once_decided()
    {
        var policy = new AdaptivePolicy(4, 2, 2);
        Assert.Equal(4, policy.NextCount(0, 8));
        Assert.Equal(6, policy.NextCount(4, 8));
        Assert.Equal(8, policy.NextCount(6, 8));
        Assert.Equal(3, policy.NextCount(0, 3));
        var agreeing = Enumerable.Range(0, 8).Select(i => B(i, "4", Ok)).ToList();
        Assert.Equal(4, policy.Started(agreeing, 8));
        // Undecided until candidates 4 and 5 outvote nothing: 0-3 disagree among verified ones, so all 8 run.
        var split = new[] { B(0, "4", Ok), B(1, "5", Ok), B(2, "4", Bad), B(3, "6", Bad), B(4, "4", Ok), B(5, "4", Ok), B(6, "4", Ok), B(7, "4", Ok) };
        Assert.Equal(8, policy.Started(split, 8));
        var late = new[] { B(0, "4", Bad), B(1, "5", Bad), B(2, "4", Bad), B(3, "6", Unchecked), B(4, "7", Ok), B(5, "7", Ok), B(6, "4", Ok), B(7, "4", Ok) };
        Assert.Equal(6, policy.Started(late, 8));
    }

    [Theory]
    [InlineData("4:4:2", 4, 4, 2)]
    [InlineData("2:1:3", 2, 1, 3)]
    public void Parses_initial_wave_agree(string text, int initial, int wave, int agree) =>
        Assert.Equal(new AdaptivePolicy(initial, wave, agree), AdaptivePolicy.Parse(text));

    [Theory]
    [InlineData("4:4")]
    [InlineData("0:4:2")]
    [InlineData("4:0:2")]
    [InlineData("4:4:0")]
    [InlineData("a:b:c")]
    public void Refuses_a_bad_policy(string text) => Assert.Throws<ArgumentException>(() => AdaptivePolicy.Parse(text));

    [Fact]
    public void Verified_vote_rules()
    {
        var ballots = new[] { B(0, "14", Bad), B(1, "14", Bad), B(2, "13", Ok), B(3, null, Ok) };
        Assert.Equal("14", Vote.Cast(ballots, Aggregation.Majority).Winner!.Answer);
        var verified = Vote.Cast(ballots, Aggregation.VerifiedMajority);
        Assert.Equal("13", verified.Winner!.Answer);
        Assert.Equal([0, 1], verified.Excluded.Select(b => b.Item));
        Assert.False(verified.EveryoneFailed);
        var allBad = Vote.Cast([B(0, "14", Bad), B(1, "15", Bad), B(2, "14", Bad)], Aggregation.VerifiedMajority);
        Assert.Equal("14", allBad.Winner!.Answer);
        Assert.True(allBad.EveryoneFailed);
        Assert.Empty(allBad.Excluded);
        Assert.Equal(Aggregation.VerifiedMajority, Vote.Parse("verified"));
        Assert.Equal("majority", Aggregation.Majority.Name());
        Assert.Throws<ArgumentException>(() => Vote.Parse("plurality"));
    }
}

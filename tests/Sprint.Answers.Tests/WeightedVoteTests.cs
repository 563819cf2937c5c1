namespace Sprint.Answers.Tests;

/// <summary>The verifier-weighted vote and the waves decided on its weights (the rules <see cref="Vote.Cast{T}"/> and <see cref="AdaptivePolicy"/> state).</summary>
public sealed class WeightedVoteTests
{
    static readonly StepCheck Ok = new(2, 0, null);
    static readonly StepCheck Bad = new(2, 1, new StepFailure(1, "2 + 2 = 5", "5", "4"));

    static Ballot<int> B(int i, string? answer, double? confidence, StepCheck? check = null, double logProb = -1) => new(i, answer, logProb, check ?? Ok, confidence);

    [Fact]
    public void The_answer_with_the_largest_summed_confidence_wins_not_the_most_votes()
    {
        var ballots = new[] { B(0, "14", 0.2), B(1, "14", 0.2), B(2, "13", 0.9), B(3, "14.0", 0.1) };
        Assert.Equal("14", Vote.Cast(ballots, Aggregation.VerifiedMajority).Winner!.Answer);
        var outcome = Vote.Cast(ballots, Aggregation.VerifierWeighted);
        Assert.Equal("13", outcome.Winner!.Answer);
        Assert.False(outcome.Unweighted);
        Assert.Equal([0.9, 0.5], outcome.Ranked.Select(g => Math.Round(g.Weight, 6)));
    }

    [Fact]
    public void A_failed_step_keeps_a_candidate_out_however_confident()
    {
        var outcome = Vote.Cast([B(0, "5", 0.99, Bad), B(1, "4", 0.3)], Aggregation.VerifierWeighted);
        Assert.Equal("4", outcome.Winner!.Answer);
        Assert.Equal([0], outcome.Excluded.Select(b => b.Item));
        // ... unless every candidate with an answer has one: then all vote, by weight.
        var all = Vote.Cast([B(0, "5", 0.9, Bad), B(1, "4", 0.3, Bad), B(2, "4", 0.3, Bad)], Aggregation.VerifierWeighted);
        Assert.True(all.EveryoneFailed);
        Assert.Equal("5", all.Winner!.Answer);
    }

    [Fact]
    public void A_voter_without_a_confidence_makes_the_vote_count_votes_and_say_so()
    {
        var outcome = Vote.Cast([B(0, "7", 0.1), B(1, "7", null), B(2, "8", 0.9)], Aggregation.VerifierWeighted);
        Assert.True(outcome.Unweighted);
        Assert.Equal("7", outcome.Winner!.Answer);
        Assert.Equal(2, outcome.Winner.Weight);
        // A candidate without an answer never votes, so its missing confidence does not matter.
        Assert.False(Vote.Cast([B(0, "7", 0.1), B(1, null, null), B(2, "8", 0.9)], Aggregation.VerifierWeighted).Unweighted);
    }

    [Fact]
    public void Equal_weights_are_broken_as_the_majority_breaks_ties()
    {
        var outcome = Vote.Cast([B(0, "7", 0.5, logProb: -2), B(1, "8", 0.25, logProb: -0.1), B(2, "8", 0.25, logProb: -3)], Aggregation.VerifierWeighted);
        Assert.Equal("8", outcome.Winner!.Answer);   // 0.5 each: the best member's log-probability decides
    }

    [Fact]
    public void Names_parse_and_print_and_only_majority_needs_no_checks()
    {
        Assert.Equal(Aggregation.VerifierWeighted, Vote.Parse("weighted"));
        Assert.Equal(Aggregation.VerifierWeighted, Vote.Parse("VERIFIER_WEIGHTED"));
        Assert.Equal("weighted", Aggregation.VerifierWeighted.Name());
        Assert.True(Aggregation.VerifierWeighted.UsesChecks());
        Assert.True(Aggregation.VerifiedMajority.UsesChecks());
        Assert.False(Aggregation.Majority.UsesChecks());
        Assert.Contains("weighted", Assert.Throws<ArgumentException>(() => Vote.Parse("mean")).Message);
    }

    [Fact]
    public void A_margin_policy_is_decided_when_the_leader_is_ahead_by_the_margin()
    {
        var policy = new AdaptivePolicy(2, 6, 1, Margin: 0.9);
        Assert.True(policy.Decided([B(0, "4", 0.95)]));                       // alone, ahead of nothing by 0.95
        Assert.False(policy.Decided([B(0, "4", 0.85)]));
        Assert.True(policy.Decided([B(0, "4", 0.6), B(1, "4.0", 0.5), B(2, "5", 0.1)]));   // 1.1 - 0.1 = 1.0
        Assert.False(policy.Decided([B(0, "4", 0.6), B(1, "4", 0.5), B(2, "5", 0.3)]));    // 1.1 - 0.3 = 0.8
        Assert.True(policy.Decided([B(0, "4", 0.95), B(1, "5", 0.99, Bad)]));  // a failed step does not count against
        Assert.False(policy.Decided([B(0, null, 0.99)]));                      // no answer, nothing decided
    }

    [Fact]
    public void A_lead_of_exactly_the_margin_decides()
    {
        var policy = new AdaptivePolicy(2, 6, 1, Margin: 0.25);   // binary fractions: the sums are exact
        Assert.True(policy.Decided([B(0, "4", 0.5), B(1, "5", 0.25)]));
        Assert.False(policy.Decided([B(0, "4", 0.5), B(1, "5", 0.375)]));
    }

    [Fact]
    public void A_candidate_the_verifier_did_not_check_votes_under_every_rule()
    {
        // Ballot.Check null: not checked (it then votes under every rule), unlike a failed step.
        Ballot<int> Unchecked(int i, string answer) => new(i, answer, -1, null, 0.5);
        foreach (var rule in new[] { Aggregation.Majority, Aggregation.VerifiedMajority, Aggregation.VerifierWeighted })
        {
            var outcome = Vote.Cast([Unchecked(0, "7"), Unchecked(1, "7"), B(2, "8", 0.5)], rule);
            Assert.Equal("7", outcome.Winner!.Answer);
            Assert.Empty(outcome.Excluded);
        }
    }

    [Fact]
    public void Without_every_confidence_a_margin_policy_decides_by_agreement()
    {
        var policy = new AdaptivePolicy(2, 6, 2, Margin: 0.5);
        Assert.True(policy.Decided([B(0, "4", null), B(1, "4", null)]));     // two verified agree: the agree rule
        Assert.False(policy.Decided([B(0, "4", 0.99), B(1, "5", null)]));    // verified dissent
    }

    [Theory]
    [InlineData("2:6:w0.9", 2, 6, 0.9)]
    [InlineData("4:4:w1.5", 4, 4, 1.5)]
    public void Margin_policies_parse_and_print(string text, int initial, int wave, double margin)
    {
        var policy = AdaptivePolicy.Parse(text);
        Assert.Equal(new AdaptivePolicy(initial, wave, AdaptivePolicy.Default.Agree, margin), policy);
        Assert.Equal(text, policy.ToString());
    }

    [Theory]
    [InlineData("2:6:w0")]
    [InlineData("2:6:w-1")]
    [InlineData("2:6:w65")]
    [InlineData("2:6:wx")]
    public void Bad_margins_are_refused(string text) => Assert.Throws<ArgumentException>(() => AdaptivePolicy.Parse(text));
}

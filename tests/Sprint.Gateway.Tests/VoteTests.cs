using Sprint.Answers;
using Sprint.Contracts.V1;
using Aggregation = Sprint.Contracts.V1.Aggregation;

namespace Sprint.Gateway.Tests;

/// <summary>The verdict of a Solve, from candidate results alone.</summary>
public sealed class VoteTests
{
    static CandidateResult R(int index, string answer, double meanLogProb, string error = "") =>
        new() { Index = index, Configuration = "none", Answer = answer, MeanLogProb = meanLogProb, Error = error };

    static Verdict Majority(IReadOnlyList<CandidateResult> results, IReadOnlyList<int> failed) =>
        SolveVerdict.Vote(results, failed, _ => null, Answers.Aggregation.Majority);

    static StepCheck Holds(int steps) => new(steps, 0, null);
    static StepCheck Fails(int step) => new(step, 1, new Answers.StepFailure(step, "21 - 8 = 14", "14", "13"));

    [Fact]
    public void The_verified_vote_leaves_out_candidates_with_a_failed_step()
    {
        // Three wrong candidates agree on 14 (each miscomputes 21 - 8); the two whose steps hold say 13.
        var results = new[] { R(0, "14", -0.1), R(1, "14", -0.2), R(2, "13", -0.5), R(3, "14", -0.3), R(4, "13", -0.6), R(5, "", 0) };
        var checks = new Dictionary<int, StepCheck> { [0] = Fails(1), [1] = Fails(1), [2] = Holds(2), [3] = Fails(2), [4] = Holds(2) };
        Assert.Equal("14", Majority(results, []).Answer);
        var v = SolveVerdict.Vote(results, [], i => checks.GetValueOrDefault(i), Answers.Aggregation.VerifiedMajority);
        Assert.Equal("13", v.Answer);
        Assert.Equal(2, v.ChosenCandidate);
        Assert.Equal([0, 1, 3], v.ExcludedCandidates);
        Assert.Equal(Aggregation.VerifiedMajority, v.Aggregation);
        Assert.StartsWith("verified majority: candidates with a failed step do not vote", v.Rule);
        Assert.Equal([("13", 2)], v.Votes.Select(x => (x.Answer, x.Votes)));
    }

    [Fact]
    public void The_weighted_vote_sums_the_verifiers_scores_and_the_verdict_shows_them()
    {
        // Two confident-sounding but unlikely "14"s against one "13" the verifier trusts; 4 has a failed step.
        var results = new[] { R(0, "14", -0.1), R(1, "14", -0.2), R(2, "13", -0.5), R(3, "", 0), R(4, "13", -0.1) };
        var checks = new Dictionary<int, StepCheck> { [0] = Holds(2), [1] = Holds(2), [2] = Holds(2), [4] = Fails(1) };
        var scores = new Dictionary<int, double> { [0] = 0.25, [1] = 0.25, [2] = 0.75, [4] = 0.9 };
        var v = SolveVerdict.Vote(results, [], i => checks.GetValueOrDefault(i), Answers.Aggregation.VerifierWeighted, scores: i => scores.TryGetValue(i, out var s) ? s : null);
        Assert.Equal("13", v.Answer);
        Assert.Equal(2, v.ChosenCandidate);
        Assert.Equal(Aggregation.VerifierWeighted, v.Aggregation);
        Assert.StartsWith("verifier-weighted vote: candidates with a failed step do not vote", v.Rule);
        Assert.Equal([("13", 1, 0.75), ("14", 2, 0.5)], v.Votes.Select(x => (x.Answer, x.Votes, Math.Round(x.Weight, 6))));
        Assert.Equal([4], v.ExcludedCandidates);
        Assert.Equal(new Dictionary<int, float> { [0] = 0.25f, [1] = 0.25f, [2] = 0.75f, [4] = 0.9f }, v.Scores);
    }

    [Fact]
    public void Without_scores_the_weighted_vote_counts_verified_votes_and_says_why()
    {
        var results = new[] { R(0, "14", -0.1), R(1, "14", -0.2), R(2, "13", -0.5) };
        var v = SolveVerdict.Vote(results, [], _ => Holds(1), Answers.Aggregation.VerifierWeighted, scores: i => i == 2 ? 0.99 : null);
        Assert.Equal("14", v.Answer);
        Assert.Equal(Aggregation.VerifiedMajority, v.Aggregation);
        Assert.Contains("weighted vote not possible", v.Rule);
        // The Verifier down: plain majority, as for the verified vote.
        var down = SolveVerdict.Vote(results, [], _ => null, Answers.Aggregation.VerifierWeighted, verifierFailure: "Unavailable: connection refused");
        Assert.Equal(Aggregation.Majority, down.Aggregation);
        Assert.Contains("weighted vote not possible, the verifier failed: Unavailable", down.Rule);
    }

    [Fact]
    public void When_every_candidate_fails_a_step_all_of_them_vote()
    {
        var checks = new Dictionary<int, StepCheck> { [0] = Fails(1), [1] = Fails(2), [2] = Fails(1) };
        var v = SolveVerdict.Vote([R(0, "7", -1), R(1, "7", -1), R(2, "8", -0.1)], [], i => checks.GetValueOrDefault(i), Answers.Aggregation.VerifiedMajority);
        Assert.Equal("7", v.Answer);
        Assert.Empty(v.ExcludedCandidates);
        Assert.Contains("every candidate with an answer has a failed step", v.Rule);
    }

    [Fact]
    public void Without_the_verifier_the_verified_vote_falls_back_to_majority_and_says_why()
    {
        var checks = new Dictionary<int, StepCheck> { [0] = Fails(1), [1] = Fails(1) };
        var v = SolveVerdict.Vote([R(0, "14", -1), R(1, "14", -1), R(2, "13", -1)], [], i => checks.GetValueOrDefault(i),
            Answers.Aggregation.VerifiedMajority, verifierFailure: "Unavailable: connection refused");
        Assert.Equal("14", v.Answer);
        Assert.Equal(Aggregation.Majority, v.Aggregation);
        Assert.Contains("the verifier failed: Unavailable: connection refused", v.Rule);
        Assert.Empty(v.ExcludedCandidates);
    }

    [Fact]
    public void Unneeded_candidates_are_listed_and_do_not_vote()
    {
        var v = SolveVerdict.Vote([R(0, "3", -1), R(1, "3", -1), R(2, "", 0), R(3, "", 0)], [], _ => null, Answers.Aggregation.Majority, unneeded: [2, 3]);
        Assert.Equal([2, 3], v.UnneededCandidates);
        Assert.Equal("3", v.Answer);
    }

    [Fact]
    public void The_majority_wins_and_every_answer_is_listed_with_its_candidates()
    {
        var v = Majority([R(0, "4", -1), R(1, "4.0", -2), R(2, "5", -0.1), R(3, "", 0)], []);
        Assert.Equal("4", v.Answer);
        Assert.Equal(0, v.ChosenCandidate);
        Assert.Equal([("4", 2, new[] { 0, 1 }), ("5", 1, new[] { 2 })], v.Votes.Select(x => (x.Answer, x.Votes, x.Candidates.ToArray())));
        Assert.StartsWith("majority of normalised answers", v.Rule);
        Assert.Equal(Aggregation.Majority, v.Aggregation);
        Assert.Empty(v.FailedCandidates);
    }

    [Fact]
    public void A_tie_goes_to_the_answer_whose_best_candidate_scores_highest_not_the_best_mean()
    {
        // "7": best -0.1, mean -1.05; "5": best -0.5, mean -0.55.
        var v = Majority([R(0, "5", -0.5), R(1, "7", -0.1), R(2, "5", -0.6), R(3, "7", -2.0)], []);
        Assert.Equal("7", v.Answer);
        Assert.Equal(1, v.ChosenCandidate);
        // Equal scores: the ordinally smaller answer.
        Assert.Equal("5", Majority([R(0, "7", -0.3), R(1, "5", -0.3)], []).Answer);
    }

    [Fact]
    public void Failed_candidates_and_candidates_without_an_answer_do_not_vote()
    {
        var v = Majority([R(0, "9", 0, error: "Unavailable: gone"), R(1, "9", 0, error: "Unavailable: gone"), R(2, "3", -4)], [0, 1]);
        Assert.Equal("3", v.Answer);
        Assert.Equal([0, 1], v.FailedCandidates);
        var none = Majority([R(0, "", -1)], []);
        Assert.Equal("", none.Answer);
        Assert.Equal(-1, none.ChosenCandidate);
    }
}

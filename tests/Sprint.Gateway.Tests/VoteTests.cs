using Sprint.Contracts.V1;

namespace Sprint.Gateway.Tests;

/// <summary>The verdict of a Solve, from candidate results alone.</summary>
public sealed class VoteTests
{
    static CandidateResult R(int index, string answer, double meanLogProb, string error = "") =>
        new() { Index = index, Configuration = "none", Answer = answer, MeanLogProb = meanLogProb, Error = error };

    [Fact]
    public void The_majority_wins_and_every_answer_is_listed_with_its_candidates()
    {
        var v = SolveVerdict.Vote([R(0, "4", -1), R(1, "4.0", -2), R(2, "5", -0.1), R(3, "", 0)], []);
        Assert.Equal("4", v.Answer);
        Assert.Equal(0, v.ChosenCandidate);
        Assert.Equal([("4", 2, new[] { 0, 1 }), ("5", 1, new[] { 2 })], v.Votes.Select(x => (x.Answer, x.Votes, x.Candidates.ToArray())));
        Assert.Equal(SolveVerdict.Rule, v.Rule);
        Assert.Empty(v.FailedCandidates);
    }

    [Fact]
    public void A_tie_goes_to_the_answer_whose_best_candidate_scores_highest_not_the_best_mean()
    {
        // "7": best -0.1, mean -1.05; "5": best -0.5, mean -0.55.
        var v = SolveVerdict.Vote([R(0, "5", -0.5), R(1, "7", -0.1), R(2, "5", -0.6), R(3, "7", -2.0)], []);
        Assert.Equal("7", v.Answer);
        Assert.Equal(1, v.ChosenCandidate);
        // Equal scores: the ordinally smaller answer.
        Assert.Equal("5", SolveVerdict.Vote([R(0, "7", -0.3), R(1, "5", -0.3)], []).Answer);
    }

    [Fact]
    public void Failed_candidates_and_candidates_without_an_answer_do_not_vote()
    {
        var v = SolveVerdict.Vote([R(0, "9", 0, error: "Unavailable: gone"), R(1, "9", 0, error: "Unavailable: gone"), R(2, "3", -4)], [0, 1]);
        Assert.Equal("3", v.Answer);
        Assert.Equal([0, 1], v.FailedCandidates);
        var none = SolveVerdict.Vote([R(0, "", -1)], []);
        Assert.Equal("", none.Answer);
        Assert.Equal(-1, none.ChosenCandidate);
    }
}

using Sprint.Contracts.V1;
using Sprint.Gateway.OpenAi;

namespace Sprint.Gateway.Tests;

/// <summary>The OpenAI route's choices, best first (<see cref="ChatCompletion.Ranked"/>), on verdicts made by hand.</summary>
public sealed class ChoiceRankingTests
{
    static CandidateResult C(int index, string answer, double logProb, string error = "") =>
        new() { Index = index, Answer = answer, MeanLogProb = logProb, Error = error, Text = $"text {index}" };

    [Fact]
    public void The_chosen_candidate_then_the_best_of_each_next_answer_then_the_rest()
    {
        var candidates = new[]
        {
            C(0, "56", -0.10), C(1, "52", -0.30), C(2, "52", -0.20), C(3, "48", -0.50), C(4, "56", -0.05),
            C(5, "", -0.01),                   // no answer
            C(6, "52", -0.02),                 // a failed step: left out of the vote
            C(7, "", 0, error: "Unavailable: x"),   // failed: never a choice
            C(8, "48", -0.40),
        };
        var verdict = new Verdict
        {
            Answer = "52", ChosenCandidate = 2,
            Votes = { new AnswerVotes { Answer = "52", Votes = 2, Candidates = { 1, 2 } }, new AnswerVotes { Answer = "56", Votes = 2, Candidates = { 0, 4 } },
                      new AnswerVotes { Answer = "48", Votes = 2, Candidates = { 3, 8 } } },
            ExcludedCandidates = { 6 }, FailedCandidates = { 7 },
        };
        // 2 (chosen), 4 (best 56), 8 (best 48), then the other voters by answer rank: 1, 0, 3; the excluded 6; no answer 5.
        Assert.Equal([2, 4, 8, 1, 0, 3, 6, 5], ChatCompletion.Ranked(verdict, candidates));
    }

    [Fact]
    public void Without_a_verdict_or_a_chosen_candidate_the_finished_ones_by_mean_log_probability_ties_to_the_lower_index()
    {
        var candidates = new[] { C(0, "", -0.3), C(1, "", -0.1), C(2, "", -0.1), C(3, "", 0, error: "Cancelled") };
        Assert.Equal([1, 2, 0], ChatCompletion.Ranked(null, candidates));
        Assert.Equal([1, 2, 0], ChatCompletion.Ranked(new Verdict { ChosenCandidate = -1 }, candidates));
    }
}

using Sprint.Core;
using Sprint.Pipeline.Evaluation;
using Sprint.Problems;

namespace Sprint.Pipeline.Tests;

public sealed class MajorityVoteTests
{
    static DecodedCandidate C(string? answer, double logProb, bool correct = false) => new("none", answer, correct, logProb);

    [Fact]
    public void The_most_frequent_normalised_answer_wins()
    {
        var winner = MajorityVote.Winner([C("\\frac{1}{2}", -1, true), C("0.5", -3, true), C("3", -0.1), C(null, 0)]);
        Assert.Equal("\\frac{1}{2}", winner!.Answer);
        Assert.Equal(2, MajorityVote.DistinctAnswers([C("\\frac12", -1), C("0.5", -1), C("3", -1), C(null, 0)]));
    }

    [Fact]
    public void A_tie_goes_to_the_answer_with_the_highest_mean_log_probability()
    {
        Assert.Equal("7", MajorityVote.Winner([C("5", -0.9), C("7", -0.2), C("5", -0.8), C("7", -1.5)])!.Answer);
        Assert.Equal("5", MajorityVote.Winner([C("5", -0.1), C("7", -0.2)])!.Answer);
    }

    [Fact]
    public void A_tie_goes_to_the_group_with_the_best_candidate_not_the_best_mean()
    {
        // "7": best -0.1, mean -1.05; "5": best -0.5, mean -0.55. The best candidate decides.
        Assert.Equal("7", MajorityVote.Winner([C("5", -0.5), C("7", -0.1), C("5", -0.6), C("7", -2.0)])!.Answer);
        Assert.Equal("7", Sprint.Answers.AnswerTally.Rank([C("5", -0.5), C("7", -0.1), C("5", -0.6), C("7", -2.0)], c => c.Answer, c => c.MeanLogProb)[0].Answer);
        // Equal best scores: the ordinally smaller answer.
        Assert.Equal("5", MajorityVote.Winner([C("7", -0.3), C("5", -0.3)])!.Answer);
    }

    [Fact]
    public void Candidates_without_an_answer_never_win()
    {
        Assert.Null(MajorityVote.Winner([C(null, 0), C(null, -1)]));
        Assert.Equal("4", MajorityVote.Winner([C(null, 0), C(null, 0), C("4", -5)])!.Answer);
    }

    [Fact]
    public void Metrics_use_the_first_n_candidates_and_bootstrap_intervals_contain_the_mean()
    {
        var p = new Problem("q", "?", "1", 2, "t");
        var results = new List<QuestionResult>
        {
            new(p, Strategy.Sampling, [C("2", -1), C("1", -2, true), C("1", -2, true), C("3", -1)]),
            new(p with { Id = "r", Level = 3 }, Strategy.Sampling, [C("1", -1, true), C("2", -1), C("2", -1), C("2", -1)]),
        };
        var rows = BestOfNReport.Compute(results, [1, 2, 4], seed: 1);
        var n1 = rows.Single(r => r.N == 1);
        Assert.Equal(0.5, n1.Majority.Value);          // "2" wrong, "1" right
        var n2 = rows.Single(r => r.N == 2);
        // q: "2" and "1" once each, "2" has the higher log-probability: wrong. r: equal log-probabilities, "1" first ordinally: right.
        Assert.Equal(0.5, n2.Majority.Value);
        Assert.Equal(1.0, n2.PassAtN.Value);
        Assert.Equal(1.0, rows.Single(r => r.N == 4).PassAtN.Value);
        Assert.Equal(0.375, rows.Single(r => r.N == 4).MeanCandidateAccuracy);
        Assert.Equal(2.5, rows.Single(r => r.N == 4).DistinctAnswers); // {2, 1, 3} and {1, 2}
        Assert.All(rows, r => Assert.InRange(r.Majority.Value, r.Majority.Low, r.Majority.High));
        Assert.Equal(new[] { 2, 3 }, n1.MajorityByLevel.Keys.Order());
    }

    [Fact]
    public void Bootstrap_is_seeded_and_narrows_with_more_questions()
    {
        var few = Enumerable.Range(0, 20).Select(i => i % 2 == 0 ? 1.0 : 0.0).ToArray();
        var many = Enumerable.Range(0, 2000).Select(i => i % 2 == 0 ? 1.0 : 0.0).ToArray();
        Assert.Equal(BestOfNReport.Bootstrap(few, 5), BestOfNReport.Bootstrap(few, 5));
        var a = BestOfNReport.Bootstrap(few, 5);
        var b = BestOfNReport.Bootstrap(many, 5);
        Assert.True(b.High - b.Low < (a.High - a.Low) / 4);
        Assert.InRange(b.Low, 0.46, 0.5);
    }
}

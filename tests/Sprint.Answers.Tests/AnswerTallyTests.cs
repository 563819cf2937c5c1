namespace Sprint.Answers.Tests;

/// <summary>The vote both the gateway and the evaluator use.</summary>
public sealed class AnswerTallyTests
{
    sealed record Item(string? Answer, double Score);

    static IReadOnlyList<AnswerGroup<Item>> Rank(params Item[] items) => AnswerTally.Rank(items, i => i.Answer, i => i.Score);

    [Fact]
    public void Groups_by_normalised_answer_most_votes_first_members_best_first()
    {
        var ranked = Rank(new("4", -2), new("4.0", -1), new("5.0", 0), new("5", -3), new("4", -0.5), new(null, 9));
        Assert.Equal(["4", "5"], ranked.Select(g => g.Answer));
        Assert.Equal([-0.5, -1, -2], ranked[0].Members.Select(m => m.Score));
        Assert.Equal(-0.5, ranked[0].BestScore);
        Assert.Equal(3, ranked[0].Members.Count);
    }

    [Fact]
    public void A_tie_in_votes_goes_to_the_best_member_not_the_best_mean()
    {
        // "7": best -0.1, mean -1.05. "5": best -0.5, mean -0.55.
        var ranked = Rank(new("5", -0.5), new("7", -0.1), new("5", -0.6), new("7", -2.0));
        Assert.Equal(["7", "5"], ranked.Select(g => g.Answer));
        Assert.Equal(-0.1, ranked[0].BestScore);
    }

    [Fact]
    public void A_tie_in_votes_and_score_goes_to_the_ordinally_smaller_answer()
    {
        Assert.Equal(["10", "9"], Rank(new("9", -1), new("10", -1)).Select(g => g.Answer));
        Assert.Equal(["9", "10"], Rank(new("9", -1), new("10", -1.5)).Select(g => g.Answer));
    }

    [Fact]
    public void Items_without_an_answer_take_no_part()
    {
        Assert.Empty(Rank(new(null, 0), new(null, -1)));
        Assert.Equal(["3"], Rank(new(null, 0), new(null, 0), new("3", -9)).Select(g => g.Answer));
    }
}

namespace Sprint.Answers;

/// <summary>One normalised answer and the items (candidates) that gave it, best-scored first.</summary>
/// <param name="Weight">The votes' total weight (each vote weighs 1 in a plain count).</param>
public sealed record AnswerGroup<T>(string Answer, IReadOnlyList<T> Members, double BestScore, double Weight);

/// <summary>
/// Majority vote over normalised answers. Groups are ordered by weight (the number of votes, or the sum of the
/// members' weights when <c>weight</c> is given), then by the highest score (mean token log-probability) of any
/// member, then ordinally by the answer; items without an answer take no part.
/// </summary>
public static class AnswerTally
{
    public static IReadOnlyList<AnswerGroup<T>> Rank<T>(IEnumerable<T> items, Func<T, string?> answer, Func<T, double> score, Func<T, double>? weight = null) =>
        items.Select(i => (Item: i, Answer: answer(i)))
            .Where(x => x.Answer is not null)
            .GroupBy(x => AnswerNormalizer.Normalize(x.Answer!))
            .Select(g => new AnswerGroup<T>(g.Key, g.Select(x => x.Item).OrderByDescending(score).ToList(), g.Max(x => score(x.Item)),
                weight is null ? g.Count() : g.Sum(x => weight(x.Item))))
            .OrderByDescending(g => g.Weight)
            .ThenByDescending(g => g.BestScore)
            .ThenBy(g => g.Answer, StringComparer.Ordinal)
            .ToList();
}

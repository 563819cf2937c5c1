using Sprint.Answers;

namespace Sprint.Pipeline.Evaluation;

/// <summary>
/// One decoded candidate: its extracted answer (null when none), whether it is correct, its mean token
/// log-probability, the tokens it generated, its text, its step check (<see cref="StepChecker"/>) and the learned
/// verifier's confidence that it is right (null until scored), and where each generated token's text ends in it
/// (<c>TextEnds[i]</c>: the text's length once token i was decoded; null in logs written before they were kept), so a
/// replay knows how many tokens a candidate had decoded when a given line of it was complete.
/// </summary>
public sealed record DecodedCandidate(string Config, string? Answer, bool Correct, double MeanLogProb, int Tokens = 0, string Text = "", StepCheck? Check = null,
    double? Confidence = null, IReadOnlyList<int>? TextEnds = null)
{
    public Ballot<DecodedCandidate> Ballot => new(this, Answer, MeanLogProb, Check, Confidence);
}

/// <summary>
/// Best-of-N aggregation through <see cref="Vote"/>, the rule the gateway's verdict uses: the most frequent normalised
/// answer among the candidates that vote (all with an answer, or under the verified rule those whose steps hold). A
/// tie is broken by the highest mean log-probability of any candidate giving that answer, then ordinally by the answer
/// text. Candidates without an answer never win; when no candidate has one, there is no answer.
/// </summary>
public static class MajorityVote
{
    public static DecodedCandidate? Winner(IEnumerable<DecodedCandidate> candidates, Aggregation rule = Aggregation.Majority) =>
        Vote.Cast(candidates.Select(c => c.Ballot), rule).Winner?.Members[0].Item;

    public static int DistinctAnswers(IEnumerable<DecodedCandidate> candidates) =>
        candidates.Where(c => c.Answer is not null).Select(c => AnswerNormalizer.Normalize(c.Answer!)).Distinct().Count();
}

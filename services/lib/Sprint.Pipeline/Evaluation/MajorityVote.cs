using Sprint.Answers;

namespace Sprint.Pipeline.Evaluation;

/// <summary>One decoded candidate: its extracted answer (null when none), whether it is correct, its mean token log-probability.</summary>
public sealed record Candidate(string Config, string? Answer, bool Correct, double MeanLogProb);

/// <summary>
/// Best-of-N aggregation: the most frequent normalised answer among candidates that have one. A tie is broken by
/// the highest mean log-probability of any candidate giving that answer, then ordinally by the answer text.
/// Candidates without an answer never win; when no candidate has one, there is no answer.
/// </summary>
public static class MajorityVote
{
    public static Candidate? Winner(IEnumerable<Candidate> candidates) =>
        AnswerTally.Rank(candidates, c => c.Answer, c => c.MeanLogProb).FirstOrDefault()?.Members[0];

    public static int DistinctAnswers(IEnumerable<Candidate> candidates) =>
        candidates.Where(c => c.Answer is not null).Select(c => AnswerNormalizer.Normalize(c.Answer!)).Distinct().Count();
}

using Sprint.Answers;
using Sprint.Contracts.V1;

namespace Sprint.Gateway;

/// <summary>A Solve's last event from its candidates' results: the vote of <see cref="AnswerTally"/>, which sprint eval uses too.</summary>
public static class SolveVerdict
{
    public const string Rule = "majority of normalised answers; a tie goes to the answer whose best candidate has the highest mean " +
        "log-probability, then to the ordinally smaller answer; failed candidates and candidates without an answer do not vote";

    public static Verdict Vote(IReadOnlyList<CandidateResult> results, IReadOnlyList<int> failed)
    {
        var ranked = AnswerTally.Rank(results.Where(r => r.Error.Length == 0), r => r.Answer.Length > 0 ? r.Answer : null, r => r.MeanLogProb);
        var verdict = new Verdict
        {
            Answer = ranked.Count > 0 ? ranked[0].Answer : "",
            ChosenCandidate = ranked.Count > 0 ? ranked[0].Members[0].Index : -1,
            Rule = Rule,
        };
        foreach (var g in ranked)
        {
            var votes = new AnswerVotes { Answer = g.Answer, Votes = g.Members.Count };
            votes.Candidates.AddRange(g.Members.Select(m => m.Index).Order());
            verdict.Votes.Add(votes);
        }
        verdict.FailedCandidates.AddRange(failed);
        return verdict;
    }
}

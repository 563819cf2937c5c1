using Sprint.Answers;
using Sprint.Contracts.V1;
using Aggregation = Sprint.Answers.Aggregation;

namespace Sprint.Gateway;

/// <summary>A Solve's last event from its candidates' results and checks: the vote of <see cref="Vote"/>, which sprint eval uses too.</summary>
public static class SolveVerdict
{
    public const string Ties = "a tie goes to the answer whose best candidate has the highest mean log-probability, then to the ordinally " +
        "smaller answer; failed candidates and candidates without an answer do not vote";

    /// <param name="checks">Each candidate's check (null: not checked).</param>
    /// <param name="verifierFailure">Why the Verifier could not check every finished candidate: the verified vote falls back to majority.</param>
    /// <param name="unneeded">Candidates an adaptive Solve never started.</param>
    /// <param name="scores">Each candidate's learned-verifier score (null: none).</param>
    public static Verdict Vote(IReadOnlyList<CandidateResult> results, IReadOnlyList<int> failed, Func<int, StepCheck?> checks, Aggregation asked,
        string? verifierFailure = null, IReadOnlyList<int>? unneeded = null, Func<int, double?>? scores = null)
    {
        var rule = asked.UsesChecks() && verifierFailure is not null ? Aggregation.Majority : asked;
        var ballots = results.Where(r => r.Error.Length == 0 && !(unneeded?.Contains(r.Index) ?? false))
            .Select(r => Ballot(r, checks(r.Index), scores?.Invoke(r.Index))).ToList();
        var outcome = Answers.Vote.Cast(ballots, rule);
        if (outcome.Unweighted) rule = Aggregation.VerifiedMajority;
        var verdict = new Verdict
        {
            Answer = outcome.Winner?.Answer ?? "",
            ChosenCandidate = outcome.Winner?.Members[0].Item.Index ?? -1,
            Aggregation = rule.ToProto(),
            Rule = Describe(asked, rule, verifierFailure, outcome.EveryoneFailed),
        };
        foreach (var b in ballots)
            if (b.Confidence is { } c) verdict.Scores[b.Item.Index] = (float)c;
        foreach (var g in outcome.Ranked)
        {
            var votes = new AnswerVotes { Answer = g.Answer, Votes = g.Members.Count, Weight = g.Weight };
            votes.Candidates.AddRange(g.Members.Select(m => m.Item.Index).Order());
            verdict.Votes.Add(votes);
        }
        verdict.FailedCandidates.AddRange(failed);
        verdict.ExcludedCandidates.AddRange(outcome.Excluded.Select(b => b.Item.Index).Order());
        if (unneeded is not null) verdict.UnneededCandidates.AddRange(unneeded);
        return verdict;
    }

    /// <summary>A candidate's result as the vote and the adaptive wave rule read it: its answer (none when empty), log-probability, check and verifier score.</summary>
    public static Ballot<CandidateResult> Ballot(CandidateResult result, StepCheck? check, double? score = null) =>
        new(result, result.Answer.Length > 0 ? result.Answer : null, result.MeanLogProb, check, score);

    static string Describe(Aggregation asked, Aggregation rule, string? verifierFailure, bool everyoneFailed)
    {
        string everyone = everyoneFailed ? "every candidate with an answer has a failed step, so all of them vote" : "candidates with a failed step do not vote";
        return (asked, rule) switch
        {
            (not Aggregation.Majority, Aggregation.Majority) =>
                $"majority of normalised answers ({asked.Name()} vote not possible, the verifier failed: {verifierFailure}); {Ties}",
            (Aggregation.VerifierWeighted, Aggregation.VerifiedMajority) =>
                $"verified majority (weighted vote not possible: the Verifier gave no score to every voter, it serves no learned verifier or scored too slowly); {everyone}; {Ties}",
            (_, Aggregation.VerifiedMajority) => $"verified majority: {everyone}; {Ties}",
            (_, Aggregation.VerifierWeighted) =>
                $"verifier-weighted vote: {everyone}; each voter weighs the learned verifier's score (probability right), the answer with the largest sum wins; {Ties}",
            _ => $"majority of normalised answers; {Ties}",
        };
    }
}

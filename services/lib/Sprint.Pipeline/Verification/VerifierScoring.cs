using Sprint.Pipeline.Evaluation;
using Sprint.Verification;

namespace Sprint.Pipeline.Verification;

/// <summary>The learned verifier's view of an evaluation: every candidate scored, and how well the scores rank and are calibrated.</summary>
public static class VerifierScoring
{
    /// <summary>
    /// The results with each candidate's <see cref="DecodedCandidate.Confidence"/> filled in by <paramref name="verifier"/>.
    /// Features are computed once per distinct (question, text) and kept in <paramref name="cachePath"/> (resumable, as in training).
    /// </summary>
    public static IReadOnlyList<QuestionResult> Score(IReadOnlyList<QuestionResult> results, OutcomeVerifier verifier, string cachePath, TextWriter log)
    {
        var questions = results.GroupBy(r => r.Problem.Id).Select(g => (g.First().Problem,
            (IReadOnlyList<VerifierTrainer.Example>)g.SelectMany(r => r.Candidates).Where(c => c.Text.Length > 0)
                .Select(c => new VerifierTrainer.Example(g.Key, c.Text, c.Correct)).ToList())).ToList();
        var rows = FeatureCache.ReadOrCompute(cachePath, verifier.Features, questions, log);
        var keys = rows.Keys.ToList();
        var probabilities = verifier.Probabilities(keys.Select(k => rows[k]).ToArray());
        var scores = new Dictionary<(string, string), double>(keys.Count);
        for (int i = 0; i < keys.Count; i++) scores[keys[i]] = probabilities[i];
        // An empty text (no room to decode) is never right: confidence 0.
        return results.Select(r => r with
        {
            Candidates = r.Candidates.Select(c => c with { Confidence = scores.GetValueOrDefault((r.Problem.Id, c.Text), 0) }).ToList(),
        }).ToList();
    }

    /// <summary>
    /// Over every scored candidate (duplicates included, as the vote sees them): the share classified right at 0.5, AUC
    /// and ECE; and the AUC within a question, averaged over the questions that have both right and wrong candidates —
    /// what a vote can use (a pooled AUC also rewards telling easy questions from hard ones).
    /// </summary>
    public static (int Candidates, double Accuracy, double Auc, double Ece, double WithinQuestionAuc, int MixedQuestions) Quality(IEnumerable<QuestionResult> results)
    {
        var list = results.ToList();
        var scored = list.SelectMany(r => r.Candidates).Where(c => c.Confidence is not null).ToList();
        var scores = scored.Select(c => c.Confidence!.Value).ToList();
        var labels = scored.Select(c => c.Correct).ToList();
        double accuracy = scored.Count == 0 ? double.NaN : scored.Average(c => (c.Confidence >= 0.5) == c.Correct ? 1.0 : 0.0);
        var within = list.Select(r => r.Candidates.Where(c => c.Confidence is not null).ToList())
            .Where(c => c.Any(x => x.Correct) && c.Any(x => !x.Correct))
            .Select(c => Calibration.Auc(c.Select(x => x.Confidence!.Value).ToList(), c.Select(x => x.Correct).ToList())).ToList();
        return (scored.Count, accuracy, Calibration.Auc(scores, labels), Calibration.Ece(scores, labels), within.Count == 0 ? double.NaN : within.Average(), within.Count);
    }
}

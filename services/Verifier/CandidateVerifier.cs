using System.Diagnostics;
using System.Diagnostics.Metrics;
using Sprint.Answers;
using Sprint.Contracts.V1;
using Sprint.Core;

namespace Sprint.Verifier;

/// <summary>
/// Check: validates the request (each rule names its field), step-checks every candidate (<see cref="StepChecker"/>)
/// and, when the learned verifier is loaded (<see cref="OutcomeScorer"/>) and the caller does not skip scores, adds each candidate's score. Scores that
/// take longer than <see cref="VerifierOptions.ScoreTimeout"/> or fail are left out (the response's <c>unscored</c>
/// says why): the step checks are never lost to the model. Counts candidates by outcome and steps checked.
/// </summary>
public sealed class CandidateVerifier
{
    public const string Name = "step-checker";
    readonly VerifierOptions options;
    readonly OutcomeScorer scorer;
    readonly ILogger<CandidateVerifier> log;
    readonly Counter<long> candidates, steps, unscored;

    public CandidateVerifier(VerifierOptions options, OutcomeScorer scorer, IMeterFactory meters, ILogger<CandidateVerifier> log)
    {
        this.options = options;
        this.scorer = scorer;
        this.log = log;
        var meter = meters.Create("Sprint.Verifier");
        candidates = meter.CreateCounter<long>("sprint.verifier.candidates", "{candidate}", "Candidates checked, by outcome (holds, failed, unchecked)");
        steps = meter.CreateCounter<long>("sprint.verifier.steps", "{step}", "Written steps recomputed, by outcome (holds, failed)");
        unscored = meter.CreateCounter<long>("sprint.verifier.unscored", "{call}", "Checks answered without scores although the learned verifier is loaded, by reason (timeout, error)");
    }

    public VerifierOptions Options => options;

    /// <summary>A question as Check and Watch take it: normalized, 1 byte to the limit.</summary>
    public string Question(string text, string field = "question")
    {
        var question = ClientText.Normalized(text, field);
        if (question.Length == 0) throw new InvalidFieldException(field, "must not be empty");
        ClientText.CheckSize(question, field, options.MaxQuestionBytes);
        return question;
    }

    /// <summary>Counts one checked candidate by outcome and its steps.</summary>
    public void Record(StepCheck check)
    {
        candidates.Add(1, new KeyValuePair<string, object?>("outcome", check.FailedSteps > 0 ? "failed" : check.CheckedSteps > 0 ? "holds" : "unchecked"));
        steps.Add(check.CheckedSteps - check.FailedSteps, new KeyValuePair<string, object?>("outcome", "holds"));
        steps.Add(check.FailedSteps, new KeyValuePair<string, object?>("outcome", "failed"));
    }

    /// <summary>The learned verifier when loaded and asked for; null for step checks only.</summary>
    public Sprint.Verification.OutcomeVerifier? Scorer(bool skipScores) => skipScores ? null : scorer.Value;

    public async Task<CheckResponse> CheckAsync(CheckRequest request, CancellationToken ct)
    {
        var question = Question(request.Question);
        if (request.Candidates.Count == 0) throw new InvalidFieldException("candidates", "must hold at least one candidate");
        if (request.Candidates.Count > options.MaxCandidates)
            throw new InvalidFieldException("candidates", $"{request.Candidates.Count} candidates exceed the limit of {options.MaxCandidates}");
        var seen = new HashSet<int>();
        for (int i = 0; i < request.Candidates.Count; i++)
        {
            var c = request.Candidates[i];
            if (c.Index < 0) throw new InvalidFieldException($"candidates[{i}].index", $"must be >= 0, got {c.Index}");
            if (!seen.Add(c.Index)) throw new InvalidFieldException($"candidates[{i}].index", $"{c.Index} appears twice");
            if (c.Text.Length == 0) throw new InvalidFieldException($"candidates[{i}].text", "must not be empty");
            ClientText.CheckSize(c.Text, $"candidates[{i}].text", options.MaxTextBytes);
        }

        var response = new CheckResponse { Verifier = Name };
        foreach (var c in request.Candidates)
        {
            var check = StepChecker.Check(c.Text);
            response.Results.Add(check.ToProto(c.Index));
            Record(check);
        }
        if (Scorer(request.SkipScores) is { } verifier)
        {
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timer.CancelAfter(options.ScoreTimeout);
            try
            {
                verifier.Features.Prompt(question);   // a question that leaves no room for a solution: INVALID_ARGUMENT before any model work
                var scores = await scorer.ScoreAsync(verifier, question, request.Candidates.Select(c => ClientText.Normalized(c.Text, "text")).ToList(), timer.Token).ConfigureAwait(false);
                for (int i = 0; i < scores.Length; i++) response.Results[i].Score = scores[i];
                response.Verifier = $"{Name}+{verifier.Name}";
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                response.Unscored = $"the learned verifier took longer than {options.ScoreTimeout.TotalSeconds:0.###} s";
                unscored.Add(1, new KeyValuePair<string, object?>("reason", "timeout"));
            }
            catch (Exception e) when (e is not (OperationCanceledException or InvalidFieldException))
            {
                log.LogError(e, "the learned verifier failed; answering step checks only");
                response.Unscored = "the learned verifier failed (the service's log says why)";
                unscored.Add(1, new KeyValuePair<string, object?>("reason", "error"));
            }
        }
        Activity.Current?.SetTag("sprint.verifier.candidates", request.Candidates.Count);
        return response;
    }

    public VerifierInfoResponse Info()
    {
        if (scorer.Value is { } v)
            return new VerifierInfoResponse { Scores = true, OutcomeVerifier = v.Name, ModelId = v.Metadata.ModelId, DevAuc = v.Metadata.DevAuc, DevEce = v.Metadata.DevEce };
        return new VerifierInfoResponse { Unavailable = scorer.Unavailable ?? "" };
    }
}

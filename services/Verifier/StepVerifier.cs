using System.Diagnostics;
using System.Diagnostics.Metrics;
using Sprint.Answers;
using Sprint.Contracts.V1;
using Sprint.Core;

namespace Sprint.Verifier;

/// <summary>
/// Check with the step checker (<see cref="StepChecker"/>): validates the request (each rule names its field) and
/// checks every candidate. Counts candidates by outcome (holds, failed, unchecked) and steps checked.
/// </summary>
public sealed class StepVerifier
{
    public const string Name = "step-checker";
    readonly VerifierOptions options;
    readonly Counter<long> candidates, steps;

    public StepVerifier(VerifierOptions options, IMeterFactory meters)
    {
        this.options = options;
        var meter = meters.Create("Sprint.Verifier");
        candidates = meter.CreateCounter<long>("sprint.verifier.candidates", "{candidate}", "Candidates checked, by outcome (holds, failed, unchecked)");
        steps = meter.CreateCounter<long>("sprint.verifier.steps", "{step}", "Written steps recomputed, by outcome (holds, failed)");
    }

    public CheckResponse Check(CheckRequest request)
    {
        var question = ClientText.Normalized(request.Question, "question");
        if (question.Length == 0) throw new InvalidFieldException("question", "must not be empty");
        ClientText.CheckSize(question, "question", options.MaxQuestionBytes);
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
            candidates.Add(1, new KeyValuePair<string, object?>("outcome", check.FailedSteps > 0 ? "failed" : check.CheckedSteps > 0 ? "holds" : "unchecked"));
            steps.Add(check.CheckedSteps - check.FailedSteps, new KeyValuePair<string, object?>("outcome", "holds"));
            steps.Add(check.FailedSteps, new KeyValuePair<string, object?>("outcome", "failed"));
        }
        Activity.Current?.SetTag("sprint.verifier.candidates", request.Candidates.Count);
        return response;
    }
}

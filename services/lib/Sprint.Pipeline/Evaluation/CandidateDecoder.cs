using Sprint.Answers;
using Sprint.Core;
using Sprint.Inference;
using Sprint.Inference.Generation;
using Sprint.Inference.Text;
using Sprint.Problems;

namespace Sprint.Pipeline.Evaluation;

/// <summary>Decodes, grades and step-checks one candidate answer to a question: the step every offline run shares.</summary>
public static class CandidateDecoder
{
    /// <summary>The question as the model is prompted with it (ChatML user turn, optional system turn).</summary>
    public static IReadOnlyList<int> Prompt(LanguageModel lm, Problem problem, EvalSettings settings)
    {
        var tokenizer = lm.Tokenizer ?? throw new ArgumentException($"{lm.Directory} has no tokenizer: it cannot be evaluated on text questions");
        return tokenizer.Encode(ChatPrompt.Format(problem.Question, settings.SystemPrompt));
    }

    /// <summary>
    /// The candidate's text and its grade. A prompt that leaves no room for new tokens gives an empty, unanswered
    /// candidate (mean log-probability by <see cref="LogProbs.Mean"/>).
    /// </summary>
    public static async Task<(string Output, DecodedCandidate Candidate)> DecodeAsync(BatchScheduler engine, LanguageModel lm, IReadOnlyList<int> prompt,
        Problem problem, HeadConfig config, SamplingParams sampling, EvalSettings settings, CancellationToken ct)
    {
        int maxNew = Math.Min(settings.MaxNewTokens, lm.Config.MaxPositionEmbeddings - prompt.Count);
        if (maxNew < 1) return ("", new DecodedCandidate(config.Name, null, false, LogProbs.Mean(0, 0)));
        var text = new System.Text.StringBuilder();
        double sum = 0;
        int n = 0;
        var ends = new List<int>();
        var request = new GenerationRequest { PromptIds = prompt, PrunedHeads = config.PrunedHeads, Stopping = new StoppingCriteria { MaxNewTokens = maxNew }, Sampling = sampling };
        await foreach (var e in engine.Submit(request, ct).ConfigureAwait(false))
        {
            text.Append(e.Text);
            if (e.TokenId is not null) { sum += e.LogProb; n++; ends.Add(text.Length); }
            else if (ends.Count > 0) ends[^1] = text.Length;   // a final event that only completes held-back text
        }
        var output = text.ToString();
        return (output, Grade(problem, config.Name, output, LogProbs.Mean(sum, n), n, ends));
    }

    /// <summary>A decoded text graded against the problem and step-checked (also for candidates read back from a log).</summary>
    public static DecodedCandidate Grade(Problem problem, string config, string output, double meanLogProb, int tokens, IReadOnlyList<int>? textEnds = null)
    {
        var answer = AnswerExtractor.Extract(output);
        return new DecodedCandidate(config, answer, AnswerGrader.IsEquivalent(answer, problem.Answer), meanLogProb, tokens, output, StepChecker.Check(output), TextEnds: textEnds);
    }
}

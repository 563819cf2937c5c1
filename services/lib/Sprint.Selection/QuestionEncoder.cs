using Sprint.Core;
using Sprint.Inference;
using Sprint.Inference.Model;
using Sprint.Inference.Text;
using static TorchSharp.torch;

namespace Sprint.Selection;

/// <summary>
/// SPRINT's question embedding: the unpruned model's final hidden states (after the last norm), mean-pooled over
/// every token of the prompt exactly as the generator sees it — the ChatML user turn with the configured system
/// prompt and the open assistant turn (<see cref="ChatPrompt.Format"/>) — then L2-normalised.
/// </summary>
public sealed class QuestionEncoder(LanguageModel lm, string? systemPrompt = null)
{
    /// <summary>Names the model, the pooling and the template, so vectors from different encoders are never mixed.</summary>
    public string EncoderId => $"{lm.Id}:mean-final-hidden:chatml{(string.IsNullOrEmpty(systemPrompt) ? "" : "+system")}:l2";

    public int Dimension => lm.Config.HiddenSize;

    /// <summary>The model's context in tokens: a question's prompt must fit in it.</summary>
    public int Context => lm.Config.MaxPositionEmbeddings;

    /// <summary>
    /// Refuses a question whose prompt does not fit the context (<see cref="InvalidFieldException"/> for
    /// <paramref name="field"/>) at the cost of tokenizing it, before any model work.
    /// </summary>
    public void CheckFits(string question, string field)
    {
        int tokens = Prompt(question).Count;
        if (tokens > Context) throw new InvalidFieldException(field, $"{tokens} tokens exceed the encoder's {Context}-token context");
    }

    IReadOnlyList<int> Prompt(string question) =>
        (lm.Tokenizer ?? throw new ArgumentException($"{lm.Directory} has no tokenizer: questions cannot be encoded")).Encode(ChatPrompt.Format(question, systemPrompt));

    public float[][] Encode(IReadOnlyList<string> questions, int batchSize = 32)
    {
        var result = new List<float[]>(questions.Count);
        using var _ = inference_mode();
        foreach (var chunk in questions.Chunk(batchSize))
        {
            using var scope = NewDisposeScope();
            var prompts = chunk.Select(Prompt).ToList();
            foreach (var p in prompts)
                if (p.Count > Context) throw new InvalidFieldException("question", $"{p.Count} tokens exceed the encoder's {Context}-token context");
            var padded = PaddedPrompts.Left(prompts, lm.Model.Device);
            var mean = padded.MeanPool(lm.Model.Forward(padded.Ids, padded.Positions, padded.Attend));   // [b, hidden]
            var unit = nn.functional.normalize(mean, p: 2, dim: 1).cpu();
            for (int i = 0; i < chunk.Length; i++) result.Add(unit[i].data<float>().ToArray());
        }
        return result.ToArray();
    }
}

using System.CommandLine;
using System.Diagnostics;
using Sprint.Core;
using Sprint.Inference.Generation;
using Sprint.Inference.Model;
using Sprint.Inference.Text;

namespace Sprint.Cli;

/// <summary><c>sprint generate</c>: one sequence, streamed to stdout as it decodes.</summary>
static class GenerateCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var prompt = new Option<string?>("--prompt") { Description = "Prompt text (needs a model with a tokenizer)" };
        var promptIds = new Option<string?>("--prompt-ids") { Description = "Prompt as comma-separated token ids (for token-id-only checkpoints)" };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt in the ChatML chat template" };
        var system = new Option<string?>("--system") { Description = "System prompt for --chat (default: none, as the default model was trained)" };
        var prune = new Option<string[]>("--prune") { Description = "Pruned heads as LAYER:HEAD (0-based), any number", AllowMultipleArgumentsPerToken = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens to generate", DefaultValueFactory = _ => 256 };
        var temperature = new Option<double>("--temperature") { Description = "0 for greedy decoding", DefaultValueFactory = _ => 0.0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass", DefaultValueFactory = _ => 1.0 };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0: all)", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong?>("--seed") { Description = "Sampling seed: the same seed gives the same text" };
        var stop = new Option<string[]>("--stop") { Description = "Stop strings", AllowMultipleArgumentsPerToken = true };
        var dtype = CommonOptions.DType();
        var threads = CommonOptions.Threads();

        var command = new Command("generate", "Generate text from a prompt, optionally with pruned attention heads")
        {
            model, prompt, promptIds, chat, system, prune, maxNew, temperature, topP, topK, seed, stop, dtype, threads,
        };
        command.SetAction(async (parse, ct) =>
        {
            using var lm = CommonOptions.LoadModel(parse, model, dtype, threads);
            if (lm is null) return 2;
            GenerationRequest request;
            try
            {
                IReadOnlyList<int> ids;
                if (parse.GetValue(promptIds) is { } idText) ids = CommonOptions.ParseIntList(idText, "--prompt-ids");
                else if (parse.GetValue(prompt) is { } text)
                {
                    if (lm.Tokenizer is null) throw new ArgumentException($"{lm.Directory} has no tokenizer: use --prompt-ids");
                    ids = lm.Tokenizer.Encode(parse.GetValue(chat) ? ChatPrompt.Format(text, parse.GetValue(system)) : text);
                }
                else throw new ArgumentException("give --prompt or --prompt-ids");
                request = new GenerationRequest
                {
                    PromptIds = ids,
                    PrunedHeads = (parse.GetValue(prune) ?? []).Select(PrunedHead.Parse).ToArray(),
                    Stopping = new StoppingCriteria { MaxNewTokens = parse.GetValue(maxNew), StopStrings = parse.GetValue(stop) ?? [] },
                    Sampling = new SamplingParams
                    {
                        Temperature = parse.GetValue(temperature),
                        TopP = parse.GetValue(topP),
                        TopK = parse.GetValue(topK),
                        Seed = parse.GetValue(seed),
                    },
                };
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return 2;
            }

            using var engine = new BatchScheduler(lm);
            var clock = Stopwatch.StartNew();
            int tokens = 0;
            FinishReason? finish = null;
            bool printIds = lm.Tokenizer is null;
            try
            {
                await foreach (var e in engine.Submit(request, ct).WithCancellation(ct))
                {
                    if (e.TokenId is not null) tokens++;
                    if (printIds && e.TokenId is { } id) parse.InvocationConfiguration.Output.Write(tokens == 1 ? $"{id}" : $",{id}");
                    else parse.InvocationConfiguration.Output.Write(e.Text);
                    finish = e.Finish ?? finish;
                }
            }
            catch (ArgumentException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            parse.InvocationConfiguration.Output.WriteLine();
            parse.InvocationConfiguration.Error.WriteLine($"[{tokens} tokens, {tokens / clock.Elapsed.TotalSeconds:F1} tokens/s, finish: {finish?.ToString().ToLowerInvariant()}]");
            return 0;
        });
        return command;
    }
}

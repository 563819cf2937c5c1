using Sprint.Core;
using Sprint.Inference;
using Sprint.Inference.Generation;
using Sprint.Problems;
using Sprint.Training;
using TorchSharp;
using TorchSharp.PyBridge;

using Sprint.Tests.Shared;

namespace Sprint.Training.Tests;

/// <summary>train-lm end to end on a tiny configuration: the output folder, and resume equal to an uninterrupted run.</summary>
public sealed class LmTrainerTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sprint-train").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    string Data()
    {
        var dir = Path.Combine(root, "data");
        TinyData.WriteSplits(dir, seed: 5, count: 400);
        return dir;
    }

    LmTrainingOptions Tiny(string data, string output, int steps, bool resume = false) => new()
    {
        DataDir = data, OutDir = output, Layers = 2, Heads = 4, KvHeads = 2, Hidden = 32, VocabSize = 300, MaxPositions = 256,
        Steps = steps, Batch = 4, WarmupSteps = 2, LogEvery = 1, EvalEvery = 1000, EvalCount = 4, CheckpointEvery = 2, Resume = resume,
    };

    [Fact]
    public async Task Training_writes_a_hugging_face_folder_the_engine_loads_and_decodes()
    {
        var output = Path.Combine(root, "model");
        var log = new StringWriter();
        Assert.Equal(0, await new LmTrainer(Tiny(Data(), output, 6) with { EvalEvery = 6 }, log).RunAsync(CancellationToken.None));
        Assert.Contains("step 6/6", log.ToString());
        Assert.Contains("dev greedy accuracy", log.ToString());
        foreach (var f in new[] { "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json" })
            Assert.True(File.Exists(Path.Combine(output, f)), f);

        using var lm = LanguageModel.Load(output);
        Assert.Equal("qwen2", lm.Config.ModelType);
        Assert.Equal((2, 4, 2), (lm.Config.NumLayers, lm.Config.NumHeads, lm.Config.NumKeyValueHeads));
        Assert.Contains(lm.Tokenizer!.TokenId("<|im_end|>")!.Value, lm.EosTokenIds);
        using var engine = new BatchScheduler(lm);
        int tokens = 0;
        await foreach (var e in engine.Submit(new GenerationRequest { PromptIds = lm.Tokenizer.Encode("Mia has 3 apples."), Stopping = new StoppingCriteria { MaxNewTokens = 5 } }))
            tokens += e.TokenId is null ? 0 : 1;
        Assert.InRange(tokens, 1, 5);
    }

    [Fact]
    public async Task Resuming_from_a_checkpoint_gives_the_weights_of_an_uninterrupted_run()
    {
        var data = Data();
        var straight = Path.Combine(root, "straight");
        var resumed = Path.Combine(root, "resumed");
        await new LmTrainer(Tiny(data, straight, 6), TextWriter.Null).RunAsync(CancellationToken.None);
        await new LmTrainer(Tiny(data, resumed, 6) with { StopAfterStep = 4 }, TextWriter.Null).RunAsync(CancellationToken.None);
        var log = new StringWriter();
        await new LmTrainer(Tiny(data, resumed, 6, resume: true), log).RunAsync(CancellationToken.None);
        Assert.Contains("resumed at step 4", log.ToString());

        var a = Safetensors.LoadStateDict(Path.Combine(straight, "model.safetensors"));
        var b = Safetensors.LoadStateDict(Path.Combine(resumed, "model.safetensors"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var name in a.Keys)
            Assert.True(torch.allclose(a[name], b[name], rtol: 1e-5, atol: 1e-6), name);
    }

    [Fact]
    public async Task Cancelling_saves_a_checkpoint_to_resume_from()
    {
        var output = Path.Combine(root, "cancelled");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Equal(130, await new LmTrainer(Tiny(Data(), output, 50), TextWriter.Null).RunAsync(cts.Token));
        Assert.True(File.Exists(Path.Combine(output, "checkpoint", "trainer_state.json")));
    }
}

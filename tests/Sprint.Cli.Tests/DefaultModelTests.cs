using System.Text.Json.Nodes;
using Sprint.Inference;
using Sprint.Selection;
using Sprint.Pipeline.Selection;

namespace Sprint.Cli.Tests;

/// <summary>The shipped default model and its SPRINT artifacts.</summary>
public sealed class DefaultModelTests : IDisposable
{
    static readonly string Model = Path.Combine(Path.GetDirectoryName(Cli.Fixtures)!, "..", "models", "sprint-tiny-math");
    readonly string dir = Directory.CreateTempSubdirectory("sprint-default").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>The trained tokenizer's chat template is the ChatML the code writes (one definition of the format).</summary>
    [Fact]
    public void The_shipped_chat_template_is_the_codes_chatml() =>
        Assert.Equal(Sprint.Inference.Text.ChatPrompt.HfTemplate,
            JsonNode.Parse(File.ReadAllText(Path.Combine(Model, "tokenizer_config.json")))!["chat_template"]!.GetValue<string>());

    [Fact(Timeout = 300_000)]
    public async Task Generate_answers_a_generated_question()
    {
        var (code, stdout, stderr) = await Cli.Run(["generate", "--model", Model, "--chat", "--threads", "1", "--prompt",
            "Mia starts with 21 apples. Mia gives 8 apples to Iris. Each of the apples is traded for 4 new ones. How many apples does Mia have now?"]);
        Assert.Equal(0, code);
        Assert.Equal("21 - 8 = 13\n13 * 4 = 52\n\\boxed{52}", stdout.Trim());
        Assert.Contains("finish: stop", stderr);
    }

    [Fact(Timeout = 300_000)]
    public async Task Eval_prints_accuracy_and_levels_as_json()
    {
        await Cli.Run(["data", "synth", "--out", dir, "--seed", "1", "--count", "100"]);
        var (code, stdout, _) = await Cli.Run(["eval", "--model", Model, "--dataset", Path.Combine(dir, "test.jsonl"), "--json", "--threads", "1"]);
        Assert.Equal(0, code);
        var json = JsonNode.Parse(stdout)!;
        Assert.Equal(10, json["count"]!.GetValue<int>());
        Assert.Equal(json["correct"]!.GetValue<int>() / 10.0, json["accuracy"]!.GetValue<double>(), 12);
        Assert.Equal(10, json["by_level"]!.AsObject().Sum(l => l.Value!["count"]!.GetValue<int>()));
        Assert.Equal(json["correct"]!.GetValue<int>(), json["by_level"]!.AsObject().Sum(l => l.Value!["correct"]!.GetValue<int>()));
        Assert.True(json["by_level"]!["1"]!["accuracy"]!.GetValue<double>() >= 0.5, "the easiest level should mostly be right");
    }

    [Fact]
    public void The_shipped_selector_loads_and_belongs_to_the_model_and_its_encoder()
    {
        using var lm = LanguageModel.Load(Model);
        using var selector = SelectorArtifact.Load(Path.Combine(Model, "selector.safetensors"));
        var encoder = new QuestionEncoder(lm);
        Assert.Equal(lm.Id, selector.Metadata.ModelId);
        Assert.Equal(encoder.EncoderId, selector.Metadata.EncoderId);
        Assert.Equal(33, selector.Metadata.Configs.Count);
        var top = selector.TopK(encoder.Encode(["Ava has 5 apples. Ava buys 3 more apples. How many apples does Ava have now?"])[0], 8);
        Assert.Equal(8, top.Distinct().Count());
        Assert.Equal(lm.Id, Sprint.Pipeline.Selection.Profile.Load(Path.Combine(Model, "profile-train.jsonl")).ModelId);
    }
}

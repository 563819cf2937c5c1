using System.Text.Json.Nodes;
using Sprint.Inference.Checkpoint;
using Sprint.Inference.Model;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Sprint.Inference.Tests;

/// <summary>Checkpoint loading: the layouts and dtypes accepted, and each refusal with its message.</summary>
public sealed class LoaderTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sprint-loader").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string CopyGolden(Action<JsonObject>? editConfig = null, Action<Dictionary<string, Tensor>>? editWeights = null)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.GoldenModel, "config.json")))!.AsObject();
        editConfig?.Invoke(config);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        if (editWeights is null)
            File.Copy(Path.Combine(Fixtures.GoldenModel, "model.safetensors"), Path.Combine(dir, "model.safetensors"));
        else
        {
            var weights = Safetensors.LoadStateDict(Path.Combine(Fixtures.GoldenModel, "model.safetensors"));
            editWeights(weights);
            Safetensors.SaveStateDict(Path.Combine(dir, "model.safetensors"), weights);
        }
        return dir;
    }

    static string Refusal(string modelDir) => Assert.Throws<ModelLoadException>(() => LanguageModel.Load(modelDir).Dispose()).Message;

    [Fact]
    public void Dummy_weights_need_only_a_config_and_are_seeded()
    {
        File.Copy(Path.Combine(Fixtures.GoldenModel, "config.json"), Path.Combine(dir, "config.json"));   // no weights at all
        using var a = LanguageModel.Load(dir, format: LoadFormat.Dummy);
        using var b = LanguageModel.Load(dir, format: LoadFormat.Dummy);
        using var real = LanguageModel.Load(Fixtures.GoldenModel);
        var weights = a.Model.state_dict();
        Assert.Equal(real.Model.state_dict().Keys.Order(), weights.Keys.Order());
        foreach (var (name, w) in weights)
        {
            Assert.Equal(real.Model.state_dict()[name].shape, w.shape);
            Assert.True((w == b.Model.state_dict()[name]).all().item<bool>(), $"{name} differs between two dummy loads");
        }
        Assert.False(weights["model.layers.0.self_attn.q_proj.weight"].allclose(real.Model.state_dict()["model.layers.0.self_attn.q_proj.weight"]));
        Assert.Contains("safetensors", Refusal(dir));   // the default format still needs the weights
        Assert.Equal(LoadFormat.Dummy, LanguageModel.ParseLoadFormat("dummy"));
        Assert.Throws<ArgumentException>(() => LanguageModel.ParseLoadFormat("gguf"));
    }

    [Theory]
    [InlineData("qwen2.5-0.5b", 24, 14, 2, 896, 151936)]
    [InlineData("qwen2.5-1.5b", 28, 12, 2, 1536, 151936)]
    public void The_shipped_benchmark_configs_have_the_published_shapes(string name, int layers, int heads, int kvHeads, int hidden, int vocab)
    {
        var config = ModelConfig.Load(Path.Combine(Fixtures.Root, "..", "..", "models", "configs", name));
        Assert.Equal((layers, heads, kvHeads, hidden, vocab), (config.NumLayers, config.NumHeads, config.NumKeyValueHeads, config.HiddenSize, config.VocabSize));
        Assert.Equal(hidden / heads, config.HeadDim);
        Assert.True(config.TieWordEmbeddings);
    }

    [Fact]
    public void Unknown_model_type_is_refused() =>
        Assert.Contains("model_type 'mistral' is not supported", Refusal(CopyGolden(c => c["model_type"] = "mistral")));

    [Fact]
    public void Sliding_window_attention_is_refused() =>
        Assert.Contains("sliding-window", Refusal(CopyGolden(c => c["use_sliding_window"] = true)));

    [Theory]
    [InlineData("rope_scaling", "linear")]
    [InlineData("rope_scaling", "yarn")]
    [InlineData("rope_parameters", "llama3")]
    public void Rope_scaling_other_than_default_is_refused(string key, string type) =>
        Assert.Contains($"rope scaling '{type}'", Refusal(CopyGolden(c => c[key] = new JsonObject { ["rope_type"] = type, ["factor"] = 2.0 })));

    [Fact]
    public void A_missing_tensor_is_named() =>
        Assert.Contains("tensor 'model.layers.2.mlp.up_proj.weight' is missing",
            Refusal(CopyGolden(editWeights: w => w.Remove("model.layers.2.mlp.up_proj.weight"))));

    [Fact]
    public void A_tensor_of_the_wrong_shape_is_named_with_both_shapes() =>
        Assert.Contains("tensor 'model.layers.1.self_attn.k_proj.weight' has shape [16, 128] but the config needs [32, 128]",
            Refusal(CopyGolden(editWeights: w => w["model.layers.1.self_attn.k_proj.weight"] = w["model.layers.1.self_attn.k_proj.weight"][..16])));

    [Fact]
    public void A_missing_folder_or_config_is_named()
    {
        Assert.Contains("does not exist", Refusal(Path.Combine(dir, "nope")));
        Assert.Contains("config.json not found", Refusal(dir));
    }

    [Fact]
    public void Rope_theta_may_come_from_rope_parameters()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.GoldenModel, "config.json")))!.AsObject();
        config.Remove("rope_theta");
        config["rope_parameters"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = 500000.0 };
        Assert.Equal(500000.0, ModelConfig.Parse(config).RopeTheta);
    }

    [Fact]
    public void Llama_config_maps_attention_and_mlp_bias()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.GoldenModel, "config.json")))!.AsObject();
        config["model_type"] = "llama";
        config["head_dim"] = 32;
        var plain = ModelConfig.Parse(config);
        Assert.False(plain.QkvBias);
        Assert.False(plain.MlpBias);
        Assert.Equal(32, plain.HeadDim);
        config["attention_bias"] = true;
        config["mlp_bias"] = true;
        var biased = ModelConfig.Parse(config);
        Assert.True(biased.QkvBias && biased.OutputBias && biased.MlpBias);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, 0.05)]
    [InlineData(ScalarType.Float16, 0.01)]
    public void Half_precision_checkpoints_load_and_stay_close_to_float32(ScalarType stored, double tolerance)
    {
        CopyGolden(editWeights: w => { foreach (var k in w.Keys.ToList()) w[k] = w[k].to(stored); });
        using var model = LanguageModel.Load(dir);
        var c = Golden.Instance.Cases["medium/l1h3"];
        var output = Conformance.Run(model.Model, [(c.InputIds, c.PrunedHeads)], 1, batched: false)[0];
        double worst = c.LastLogits.Zip(output.LastLogits, (e, a) => Math.Abs(e - a)).Max();
        Assert.InRange(worst, 1e-7, tolerance); // rounded weights: close, but not identical
    }

    [Fact]
    public void Sharded_checkpoints_load_through_the_index()
    {
        var weights = Safetensors.LoadStateDict(Path.Combine(Fixtures.GoldenModel, "model.safetensors"));
        File.Copy(Path.Combine(Fixtures.GoldenModel, "config.json"), Path.Combine(dir, "config.json"));
        var names = weights.Keys.Order().ToList();
        var shards = new[] { names.Take(names.Count / 2).ToList(), names.Skip(names.Count / 2).ToList() };
        var map = new JsonObject();
        for (int i = 0; i < 2; i++)
        {
            var file = $"model-0000{i + 1}-of-00002.safetensors";
            Safetensors.SaveStateDict(Path.Combine(dir, file), shards[i].ToDictionary(n => n, n => weights[n]));
            foreach (var n in shards[i]) map[n] = file;
        }
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), new JsonObject { ["weight_map"] = map }.ToJsonString());
        using var model = LanguageModel.Load(dir);
        var c = Golden.Instance.Cases["long/l3h0"];
        GoldenTests.AssertMatches(c, Conformance.Run(model.Model, [(c.InputIds, c.PrunedHeads)], Golden.Instance.GreedySteps, false)[0]);
    }

    [Fact]
    public void Compute_dtype_can_be_bfloat16()
    {
        using var model = LanguageModel.Load(Fixtures.GoldenModel, ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, model.Model.DType);
        var c = Golden.Instance.Cases["short/none"];
        var output = Conformance.Run(model.Model, [(c.InputIds, c.PrunedHeads)], 4, batched: false)[0];
        Assert.InRange(c.LastLogits.Zip(output.LastLogits, (e, a) => Math.Abs(e - a)).Max(), 0, 0.1);
    }
}

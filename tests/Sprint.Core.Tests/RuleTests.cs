namespace Sprint.Core.Tests;

/// <summary>Each rule is checked by the type that owns it, and names the field.</summary>
public sealed class RuleTests
{
    static string StrategyNames_Parse(string name) => Assert.Throws<InvalidFieldException>(() => StrategyNames.Parse(name)).Message;

    [Theory]
    [InlineData(-0.5, 1.0, 0, "temperature")]
    [InlineData(double.NaN, 1.0, 0, "temperature")]
    [InlineData(1.4e-45, 1.0, 0, "temperature")]      // denormal: scaled logits overflow to ±∞, the softmax to NaN
    [InlineData(0.0009, 1.0, 0, "temperature")]
    [InlineData(100.5, 1.0, 0, "temperature")]
    [InlineData(double.PositiveInfinity, 1.0, 0, "temperature")]
    [InlineData(0.7, 0.0, 0, "top_p")]
    [InlineData(0.7, 1.5, 0, "top_p")]
    [InlineData(0.7, double.NaN, 0, "top_p")]
    [InlineData(0.7, 1.0, -1, "top_k")]
    public void Bad_sampling_names_its_field(double temperature, double topP, int topK, string field)
    {
        var e = Assert.Throws<InvalidFieldException>(() => new SamplingParams { Temperature = temperature, TopP = topP, TopK = topK }.Validate());
        Assert.Equal(field, e.Field);
        Assert.StartsWith(field + ": ", e.Message);
    }

    [Fact]
    public void Sampling_messages_say_the_rule_and_the_value()
    {
        Assert.Equal("temperature: must be 0 (greedy) or in [0.001, 100], got -1", Assert.Throws<InvalidFieldException>(() => new SamplingParams { Temperature = -1 }.Validate()).Message);
        Assert.Equal("top_k: must be >= 0 (0 disables it), got -2", Assert.Throws<InvalidFieldException>(() => new SamplingParams { TopK = -2 }.Validate()).Message);
        Assert.Equal("top_p: must be in (0, 1], got 2", Assert.Throws<InvalidFieldException>(() => new SamplingParams { TopP = 2 }.Validate()).Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(SamplingParams.MinTemperature)]
    [InlineData(0.7)]
    [InlineData(SamplingParams.MaxTemperature)]
    public void Good_temperatures_pass(double temperature)
    {
        var p = new SamplingParams { Temperature = temperature, TopP = 0.9, TopK = 5 }.Validate();
        Assert.Equal(temperature == 0, p.IsGreedy);
    }

    [Fact]
    public void Stopping_rules_name_their_field()
    {
        Assert.Equal("max_new_tokens", Assert.Throws<InvalidFieldException>(() => new StoppingCriteria { MaxNewTokens = 0 }.Validate()).Field);
        Assert.Equal("stop[1]", Assert.Throws<InvalidFieldException>(() => new StoppingCriteria { StopStrings = ["a", ""] }.Validate()).Field);
        Assert.Equal("stop[0]", Assert.Throws<InvalidFieldException>(() => new StoppingCriteria { StopStrings = [new string('x', 257)] }.Validate()).Field);
        Assert.Equal("stop", Assert.Throws<InvalidFieldException>(() => new StoppingCriteria { StopStrings = Enumerable.Repeat("x", 17).ToList() }.Validate()).Field);
        Assert.Equal(Defaults.MaxNewTokens, new StoppingCriteria().Validate().MaxNewTokens);
        Assert.Equal("max_new_tokens: must be at least 1, got 0", Assert.Throws<InvalidFieldException>(() => new StoppingCriteria { MaxNewTokens = 0 }.Validate()).Message);
        Assert.Equal("stop[0]: must not be empty", Assert.Throws<InvalidFieldException>(() => new StoppingCriteria { StopStrings = [""] }.Validate()).Message);
        Assert.Equal("stop: at most 16 stop strings, got 17", Assert.Throws<InvalidFieldException>(() => new StoppingCriteria { StopStrings = Enumerable.Repeat("x", 17).ToList() }.Validate()).Message);
        Assert.Equal("stop[0]: at most 256 characters, got 257", Assert.Throws<InvalidFieldException>(() => new StoppingCriteria { StopStrings = [new string('x', 257)] }.Validate()).Message);
        // The limits are inclusive.
        new StoppingCriteria { MaxNewTokens = 1, StopStrings = [.. Enumerable.Repeat(new string('x', 256), 16)] }.Validate();
    }

    [Theory]
    [InlineData(4, 0, "pruned_heads[2].layer")]
    [InlineData(-1, 0, "pruned_heads[2].layer")]
    [InlineData(0, 8, "pruned_heads[2].head")]
    [InlineData(3, -1, "pruned_heads[2].head")]
    public void A_pruned_head_outside_the_model_names_layer_or_head(int layer, int head, string field)
    {
        var e = Assert.Throws<InvalidFieldException>(() => new PrunedHead(layer, head).Validate(new ModelShape(4, 8), "pruned_heads[2]"));
        Assert.Equal(field, e.Field);
        new PrunedHead(3, 7).Validate(new ModelShape(4, 8));
        new PrunedHead(0, 0).Validate(new ModelShape(4, 8));
        Assert.Equal("pruned_head.layer: 4 is outside 0..3", Assert.Throws<InvalidFieldException>(() => new PrunedHead(4, 0).Validate(new ModelShape(4, 8))).Message);
        Assert.Equal("pruned_head.head: 8 is outside 0..7", Assert.Throws<InvalidFieldException>(() => new PrunedHead(0, 8).Validate(new ModelShape(4, 8))).Message);
    }

    [Fact]
    public void Within_prefixes_the_enclosing_message()
    {
        var e = new InvalidFieldException("temperature", "bad").Within("sampling");
        Assert.Equal("sampling.temperature", e.Field);
        Assert.Equal("sampling.temperature: bad", e.Message);
    }

    [Fact]
    public void Configurations_parse_name_and_enumerate_layer_major()
    {
        Assert.Equal(HeadConfig.Unpruned, HeadConfig.Parse("none"));
        Assert.Equal(new HeadConfig(new PrunedHead(2, 5)), HeadConfig.Parse("2:5"));
        Assert.Equal("2:5", HeadConfig.Parse("2:5").Name);
        Assert.Throws<FormatException>(() => HeadConfig.Parse("2-5"));
        Assert.Equal(["none", "1:0", "1:1", "2:0", "2:1"], HeadConfig.All(new ModelShape(3, 2), (1, 2)).Select(c => c.Name));
        Assert.Equal(1 + 4 * 8, HeadConfig.All(new ModelShape(4, 8)).Count);
        Assert.Equal("layers 2-4 are outside 0-3", Assert.Throws<ArgumentException>(() => HeadConfig.All(new ModelShape(4, 8), (2, 4))).Message);
        Assert.Throws<ArgumentException>(() => HeadConfig.All(new ModelShape(4, 8), (-1, 2)));
        Assert.Throws<ArgumentException>(() => HeadConfig.All(new ModelShape(4, 8), (3, 2)));
        Assert.Equal(["none", "2:0", "2:1"], HeadConfig.All(new ModelShape(4, 2), (2, 2)).Select(c => c.Name));
        Assert.Equal("'2-5' is not a pruned head; expected LAYER:HEAD, e.g. 3:5", Assert.Throws<FormatException>(() => PrunedHead.Parse("2-5")).Message);
    }

    [Fact]
    public void Strategies_round_trip_by_name_and_an_unknown_one_names_the_field()
    {
        Assert.Equal(["sprint", "sampling", "random_heads", "global_top", "greedy"], StrategyNames.All.Select(s => s.Name()));
        foreach (var s in StrategyNames.All) Assert.Equal(s, StrategyNames.Parse(s.Name()));
        Assert.Equal(Strategy.RandomHeads, StrategyNames.Parse(" Random_Heads "));
        var e = Assert.Throws<InvalidFieldException>(() => StrategyNames.Parse(new string('b', 10_000)));
        Assert.Equal("strategy", e.Field);
        Assert.True(e.Message.Length < 300, "the message quotes a short prefix, not the whole input");
        Assert.Equal("strategy: unknown 'beam'; expected one of sprint, sampling, random_heads, global_top, greedy", StrategyNames_Parse("beam"));
        Assert.True(Strategy.Sprint.NeedsSelector() && Strategy.GlobalTop.NeedsSelector());
        Assert.False(Strategy.Sampling.NeedsSelector() || Strategy.RandomHeads.NeedsSelector() || Strategy.Greedy.NeedsSelector());
    }

    [Fact]
    public void Quote_escapes_control_characters_and_cuts_long_text()
    {
        Assert.Equal("a\\u0000b", Quote.Short("a\0b"));
        Assert.Equal("a\\u2028b\\u2029c", Quote.Short("a\u2028b\u2029c"));
        Assert.StartsWith(new string('x', Quote.MaxChars) + "…", Quote.Short(new string('x', 500)));
        Assert.Equal("", Quote.Short(null));
        Assert.Equal(new string('y', Quote.MaxChars), Quote.Short(new string('y', Quote.MaxChars)));   // at the limit: whole
        Assert.EndsWith("… (65 chars)", Quote.Short(new string('y', Quote.MaxChars + 1)));
    }
}

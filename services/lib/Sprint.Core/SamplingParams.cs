namespace Sprint.Core;

/// <summary>
/// How a sequence picks its next token: greedy when <see cref="Temperature"/> is 0 (argmax, lowest id on ties),
/// otherwise temperature, top-k and top-p sampling from a generator seeded with <see cref="Seed"/>. The rules for
/// these fields live here and nowhere else (<see cref="Validate"/>).
/// </summary>
public sealed record SamplingParams
{
    /// <summary>
    /// The smallest positive temperature: below it the scaled logits overflow float32 (a denormal temperature
    /// turned every logit into ±∞ and the softmax into NaN).
    /// </summary>
    public const double MinTemperature = 1e-3;
    public const double MaxTemperature = 100;

    /// <summary>0 decodes greedily; otherwise in [<see cref="MinTemperature"/>, <see cref="MaxTemperature"/>].</summary>
    public double Temperature { get; init; }
    /// <summary>0 disables top-k.</summary>
    public int TopK { get; init; }
    /// <summary>1 disables top-p (nucleus) filtering.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>The same seed, prompt and parameters give the same tokens; null draws a seed.</summary>
    public ulong? Seed { get; init; }

    public bool IsGreedy => Temperature == 0;
    public static SamplingParams Greedy { get; } = new();

    /// <summary>Throws <see cref="InvalidFieldException"/> naming the first field that breaks its rule.</summary>
    public SamplingParams Validate()
    {
        CheckTemperature(Temperature);
        if (TopK < 0) throw new InvalidFieldException("top_k", $"must be >= 0 (0 disables it), got {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new InvalidFieldException("top_p", $"must be in (0, 1], got {TopP}");
        return this;
    }

    /// <summary>The temperature rule alone, for requests that carry a temperature before the rest is known.</summary>
    public static void CheckTemperature(double temperature, string field = "temperature")
    {
        if (!(temperature == 0 || temperature is >= MinTemperature and <= MaxTemperature))
            throw new InvalidFieldException(field, $"must be 0 (greedy) or in [{MinTemperature}, {MaxTemperature}], got {temperature}");
    }
}

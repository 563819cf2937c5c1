namespace Sprint.Core;

/// <summary>When a sequence stops: after <see cref="MaxNewTokens"/>, at a stop string, or at an end-of-sequence token.</summary>
public sealed record StoppingCriteria
{
    public const int MaxStopStrings = 16;
    public const int MaxStopStringChars = 256;

    /// <summary>New tokens at most; prompt + this must fit the model's context (checked by the engine, which knows it).</summary>
    public int MaxNewTokens { get; init; } = Defaults.MaxNewTokens;
    /// <summary>Decoding stops when the text contains one of these; the stop string is not part of the output.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    /// <summary>Keep going past end-of-sequence tokens until <see cref="MaxNewTokens"/> (conformance and benchmarks).</summary>
    public bool IgnoreEos { get; init; }

    public static StoppingCriteria Default { get; } = new();

    /// <summary>Throws <see cref="InvalidFieldException"/> naming the first field that breaks its rule.</summary>
    public StoppingCriteria Validate()
    {
        if (MaxNewTokens < 1) throw new InvalidFieldException("max_new_tokens", $"must be at least 1, got {MaxNewTokens}");
        if (StopStrings.Count > MaxStopStrings) throw new InvalidFieldException("stop", $"at most {MaxStopStrings} stop strings, got {StopStrings.Count}");
        for (int i = 0; i < StopStrings.Count; i++)
        {
            if (string.IsNullOrEmpty(StopStrings[i])) throw new InvalidFieldException($"stop[{i}]", "must not be empty");
            if (StopStrings[i].Length > MaxStopStringChars)
                throw new InvalidFieldException($"stop[{i}]", $"at most {MaxStopStringChars} characters, got {StopStrings[i].Length}");
        }
        return this;
    }
}

namespace Sprint.Training;

public sealed record LmTrainingOptions
{
    public required string DataDir { get; init; }
    public required string OutDir { get; init; }
    public int Layers { get; init; } = 4;
    public int Heads { get; init; } = 8;
    public int KvHeads { get; init; } = 2;
    public int Hidden { get; init; } = 256;
    /// <summary>0: about 2.7 × hidden, rounded to a multiple of 8.</summary>
    public int Intermediate { get; init; }
    public int VocabSize { get; init; } = 512;
    public int MaxPositions { get; init; } = 512;
    public int Steps { get; init; } = 3000;
    public int Batch { get; init; } = 32;
    public double LearningRate { get; init; } = 2e-3;
    public double MinLearningRateRatio { get; init; } = 0.1;
    public int WarmupSteps { get; init; } = 100;
    public double WeightDecay { get; init; } = 0.01;
    public double ClipNorm { get; init; } = 1.0;
    public int Seed { get; init; } = 1;
    public int LogEvery { get; init; } = 25;
    public int EvalEvery { get; init; } = 500;
    public int EvalCount { get; init; } = 200;
    public int CheckpointEvery { get; init; } = 250;
    public bool Resume { get; init; }
    /// <summary>Stop (with a checkpoint) after this step, to continue later with <see cref="Resume"/>; the schedule still spans <see cref="Steps"/>.</summary>
    public int? StopAfterStep { get; init; }

    public int IntermediateSize => Intermediate > 0 ? Intermediate : (int)Math.Round(Hidden * 2.7 / 8) * 8;
}

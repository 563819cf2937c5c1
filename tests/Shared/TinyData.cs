using Sprint.Problems;

namespace Sprint.Tests.Shared;

/// <summary>Small generated train/dev splits for training tests.</summary>
static class TinyData
{
    /// <summary>Writes train.jsonl and dev.jsonl into <paramref name="dir"/>; returns the test split.</summary>
    public static IReadOnlyList<Problem> WriteSplits(string dir, int seed, int count)
    {
        Directory.CreateDirectory(dir);
        var (train, dev, test) = SyntheticProblems.Split(SyntheticProblems.Generate(seed, count));
        ProblemFiles.Write(Path.Combine(dir, "train.jsonl"), train);
        ProblemFiles.Write(Path.Combine(dir, "dev.jsonl"), dev);
        return test;
    }
}

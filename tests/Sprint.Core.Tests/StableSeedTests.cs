namespace Sprint.Core.Tests;

public sealed class StableSeedTests
{
    // Pinned outputs: they hold in every process and on every machine. A seed taken from .NET's per-process hash
    // or any change to the documented derivation fails them.
    [Fact]
    public void Derivation_gives_the_pinned_values()
    {
        Assert.Equal(Pinned.Sample, StableSeed.Derive(1, "sample", "What is 2 + 2?", 3));
        Assert.Equal(Pinned.Batch, StableSeed.Derive(1, "train_batch", "", 17));
        Assert.Equal(Pinned.SplitMix, new StableRandom(0).NextUInt64());   // SplitMix64's published first output for seed 0
    }

    [Fact]
    public void Every_input_changes_the_seed()
    {
        var baseline = StableSeed.Derive(1, "sample", "q", 0);
        Assert.NotEqual(baseline, StableSeed.Derive(2, "sample", "q", 0));
        Assert.NotEqual(baseline, StableSeed.Derive(1, "random_heads", "q", 0));
        Assert.NotEqual(baseline, StableSeed.Derive(1, "sample", "q2", 0));
        Assert.NotEqual(baseline, StableSeed.Derive(1, "sample", "q", 1));
        // The separator keeps (purpose, key) pairs apart that concatenate to the same text.
        Assert.NotEqual(StableSeed.Derive(1, "ab", "c"), StableSeed.Derive(1, "a", "bc"));
        // Long keys (hashed from the heap rather than the stack) are as stable and as distinct.
        var question = new string('q', 5000);
        Assert.Equal(StableSeed.Derive(1, "sample", question), StableSeed.Derive(1, "sample", new string('q', 5000)));
        Assert.NotEqual(StableSeed.Derive(1, "sample", question), StableSeed.Derive(1, "sample", question + "?"));
    }

    [Fact]
    public void Next_is_uniform_and_in_range()
    {
        var random = new StableRandom(42);
        var counts = new int[6];
        for (int i = 0; i < 60_000; i++) counts[random.Next(6)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_400, 10_600));   // ±6 %: about 5 standard deviations
        Assert.Throws<ArgumentOutOfRangeException>(() => random.Next(0));
        for (int i = 0; i < 1000; i++) Assert.InRange(random.NextDouble(), 0.0, 0.9999999999999999);
    }

    [Fact]
    public void Shuffle_is_a_seeded_permutation()
    {
        int[] Shuffled(ulong seed) { var a = Enumerable.Range(0, 32).ToArray(); new StableRandom(seed).Shuffle(a); return a; }
        Assert.Equal(Shuffled(5), Shuffled(5));
        Assert.NotEqual(Shuffled(5), Shuffled(6));
        Assert.Equal(Enumerable.Range(0, 32), Shuffled(5).Order());
        Assert.NotEqual(Enumerable.Range(0, 32), Shuffled(5));
    }

    static class Pinned
    {
        public const ulong Sample = 8246243932154332024;
        public const ulong Batch = 9480941671284317363;
        public const ulong SplitMix = 0xE220A8397B1DCDAFUL;
    }
}

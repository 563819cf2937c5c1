using Sprint.Pipeline.Analysis;
using Sprint.Pipeline.Selection;
using Sprint.Selection;

namespace Sprint.Pipeline.Tests;

/// <summary>The probes find a helpful configuration that a representation encodes, and fall back to the first configuration when it encodes nothing.</summary>
public sealed class HeadProbesTests
{
    // 200 questions, 4 configurations; question q is solved only by configuration q % 4 (0 is the unpruned one).
    static readonly bool[][] Correct = Enumerable.Range(0, 200).Select(q => Enumerable.Range(0, 4).Select(c => c == q % 4).ToArray()).ToArray();
    static readonly Profile Profile = new("m", "e", ["none", "0:0", "0:1", "1:0"],
        Correct.Select((c, q) => new ProfiledQuestion($"q{q}", 1 + q % 2, [1f, 0f], c)).ToList(), "");
    static readonly int[] Train = Enumerable.Range(0, 150).ToArray(), Test = Enumerable.Range(150, 50).ToArray();

    /// <summary>One-hot of the helpful configuration, plus noise that carries nothing.</summary>
    static float[][] Informative() => Enumerable.Range(0, 200).Select(q => new[] { q % 4 == 0 ? 1f : 0, q % 4 == 1 ? 1f : 0, q % 4 == 2 ? 1f : 0, q % 4 == 3 ? 1f : 0, (q * 37 % 11) / 11f }).ToArray();

    [Fact]
    public void A_representation_that_encodes_the_helpful_configuration_reaches_the_oracle()
    {
        var knn = HeadProbes.Score("x", "knn", Profile, Test, HeadProbes.NearestNeighbours(Informative(), Correct, Train, Test, 10));
        var ridge = HeadProbes.Score("x", "ridge", Profile, Test, HeadProbes.Ridge(Informative(), Correct, Train, Test, 1));
        Assert.Equal(1.0, knn.All);
        Assert.Equal(1.0, ridge.All);
        Assert.Equal(0.24, HeadProbes.Score("-", "greedy", Profile, Test, HeadProbes.Fixed(0, Test)).All, 2);   // 12 of the 50 are q % 4 == 0
    }

    [Fact]
    public void A_representation_that_encodes_nothing_picks_one_configuration_for_all()
    {
        var constant = Enumerable.Range(0, 200).Select(_ => new[] { 1f, 2f }).ToArray();
        var chosen = HeadProbes.NearestNeighbours(constant, Correct, Train, Test, 200);
        Assert.Single(chosen.Distinct());
    }

    [Fact]
    public void The_held_out_fifth_is_stable_and_disjoint()
    {
        var (train, test) = HeadProbes.Split(Profile, 1);
        Assert.Equal(HeadProbes.Split(Profile, 1).Test, test);
        Assert.Empty(train.Intersect(test));
        Assert.Equal(200, train.Length + test.Length);
        Assert.InRange(test.Length, 20, 60);
        Assert.NotEqual(test, HeadProbes.Split(Profile, 2).Test);
    }

    [Fact]
    public void Problem_features_count_numbers_sentences_and_operation_words()
    {
        var f = HeadProbes.ProblemFeatures("Mia has 21 apples. She gives 8 to Iris. Each apple is traded for 4 new ones. How many now?");
        Assert.Equal(3, f[0]);                      // numbers
        Assert.Equal(Math.Log10(22), f[1], 4);      // the largest
        Assert.Equal(4, f[3]);                      // sentences
        Assert.Equal(1, f[7]);                      // "each"
    }
}

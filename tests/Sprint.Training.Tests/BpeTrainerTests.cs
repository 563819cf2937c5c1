using Sprint.Training;
using Sprint.Inference.Text;
using Sprint.Problems;

namespace Sprint.Training.Tests;

public sealed class BpeTrainerTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sprint-bpe").FullName;
    static readonly IReadOnlyList<Problem> Corpus = SyntheticProblems.Generate(3, 300);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    HfTokenizer TrainAndLoad(int size, string? onlyFiles = null)
    {
        var result = BpeTrainer.Train(Corpus.SelectMany(p => new[] { p.Question, p.Solution! }), size, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
        Assert.Equal(size, result.Vocabulary.Count + result.SpecialTokens.Count);
        BpeTrainer.Save(result, dir, "<|im_end|>", "<|endoftext|>");
        if (onlyFiles == "vocab+merges") File.Delete(Path.Combine(dir, "tokenizer.json"));
        return HfTokenizer.Load(dir);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("vocab+merges")]
    public void A_trained_tokenizer_round_trips_through_both_hugging_face_layouts(string? layout)
    {
        var tokenizer = TrainAndLoad(400, layout);
        Assert.Equal(400, tokenizer.Size);
        foreach (var text in new[] { Corpus[0].Question, Corpus[1].Solution!, "Zoë owes 1,234 € — 🚀", ChatPrompt.Format("What is 2+2?", null) })
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        var chat = tokenizer.Encode(ChatPrompt.Format("hi", null));
        Assert.Equal(tokenizer.TokenId("<|im_start|>"), chat[0]);
    }

    [Fact]
    public void Digits_are_single_tokens_and_common_words_merge()
    {
        var tokenizer = TrainAndLoad(512);
        var digits = tokenizer.Encode("9081726354");
        Assert.Equal(10, digits.Count);
        Assert.All(digits, id => Assert.Single(tokenizer.Decode([id])));
        Assert.True(tokenizer.Encode(" apples").Count == 1, "a frequent word should be one token");
    }
}

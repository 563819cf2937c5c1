using System.Text;
using System.Text.Json.Nodes;
using Sprint.Inference.Text;

namespace Sprint.Inference.Tests;

/// <summary>The Qwen tokenizer against ids produced by the Hugging Face tokenizers library (reference-ids.jsonl).</summary>
public sealed class TokenizerTests(QwenTokenizerFixture fixture) : IClassFixture<QwenTokenizerFixture>
{
    static readonly (string Text, int[] Ids)[] Reference = File.ReadLines(Path.Combine(Fixtures.QwenTokenizer, "reference-ids.jsonl"))
        .Select(l => JsonNode.Parse(l)!)
        .Select(n => (n["text"]!.GetValue<string>(), n["ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray()))
        .ToArray();

    [Fact]
    public void Tokenizer_json_encodes_all_330_reference_lines_exactly() => AssertEncodesAll(fixture.FromJson);

    [Fact]
    public void Vocab_and_merges_encode_all_330_reference_lines_exactly() => AssertEncodesAll(fixture.FromVocabAndMerges);

    static void AssertEncodesAll(HfTokenizer tokenizer)
    {
        Assert.Equal(330, Reference.Length);
        var wrong = Reference.Select((r, i) => (Line: i + 1, r.Text, r.Ids, Got: tokenizer.Encode(r.Text).ToArray()))
            .Where(x => !x.Ids.SequenceEqual(x.Got)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} lines differ; first: line {wrong.FirstOrDefault().Line} " +
            $"'{wrong.FirstOrDefault().Text}' expected [{string.Join(",", wrong.FirstOrDefault().Ids ?? [])}] got [{string.Join(",", wrong.FirstOrDefault().Got ?? [])}]");
    }

    [Fact]
    public void Decoding_the_reference_ids_gives_back_the_nfc_text()
    {
        foreach (var (text, ids) in Reference)
            Assert.Equal(text.Normalize(NormalizationForm.FormC), fixture.FromJson.Decode(ids));
    }

    [Fact]
    public void Streaming_decode_never_emits_half_a_character_and_adds_up_to_the_whole()
    {
        foreach (var (text, ids) in Reference)
        {
            var stream = new StreamingDetokenizer(fixture.FromJson);
            var pieces = ids.Select(stream.Push).Append(stream.Flush()).ToList();
            Assert.Equal(fixture.FromJson.Decode(ids), string.Concat(pieces));
            foreach (var piece in pieces)
            {
                Assert.DoesNotContain('\uFFFD', piece);
                if (piece.Length > 0) Assert.False(char.IsHighSurrogate(piece[^1]), $"piece of '{text}' ends inside a surrogate pair");
            }
        }
    }

    [Fact]
    public void A_multi_token_character_is_held_until_complete()
    {
        // A rare character the vocabulary has no token for is split into byte tokens.
        var character = new[] { "𓀀", "𝔘", "🜁", "ꙮ" }.First(c => fixture.FromJson.Encode(c).Count > 1);
        var ids = fixture.FromJson.Encode(character);
        var stream = new StreamingDetokenizer(fixture.FromJson);
        var pieces = ids.Select(stream.Push).ToList();
        Assert.All(pieces.Take(pieces.Count - 1), p => Assert.Equal("", p));
        Assert.Equal(character, pieces[^1]);
    }

    [Fact]
    public void Chat_prompt_uses_chatml_special_tokens()
    {
        var ids = fixture.FromJson.Encode(ChatPrompt.Format("What is 2+2?", "Be brief."));
        Assert.Equal(fixture.FromJson.TokenId("<|im_start|>"), ids[0]);
        Assert.Equal(3, ids.Count(id => id == fixture.FromJson.TokenId("<|im_start|>")));
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
            fixture.FromJson.Decode(ids));
        Assert.DoesNotContain("system", ChatPrompt.Format("hi", systemPrompt: null));
    }
}

public sealed class QwenTokenizerFixture
{
    public HfTokenizer FromJson { get; } = HfTokenizer.Load(Fixtures.QwenTokenizer);
    public HfTokenizer FromVocabAndMerges { get; } = LoadVocabAndMerges();

    static HfTokenizer LoadVocabAndMerges()
    {
        var dir = Directory.CreateTempSubdirectory("sprint-vocab-merges").FullName;
        foreach (var f in new[] { "vocab.json", "merges.txt", "tokenizer_config.json" })
            File.Copy(Path.Combine(Fixtures.QwenTokenizer, f), Path.Combine(dir, f));
        try { return HfTokenizer.Load(dir); }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

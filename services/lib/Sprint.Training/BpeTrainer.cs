using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sprint.Inference.Text;

namespace Sprint.Training;

/// <summary>
/// A compact byte-level BPE trainer (Microsoft.ML.Tokenizers has none). Texts are split with the Qwen2 regex, which
/// isolates every digit, so digits stay single tokens; the vocabulary is the 256 byte symbols, then merges of the
/// most frequent adjacent pair (ties: the ordinally smallest pair) until the size is reached, then the special
/// tokens. Written in Hugging Face layout, it loads through <see cref="HfTokenizer"/> and the tokenizers library.
/// </summary>
public static class BpeTrainer
{
    public sealed record Result(IReadOnlyList<string> Vocabulary, IReadOnlyList<(string Left, string Right)> Merges, IReadOnlyList<string> SpecialTokens);

    public static Result Train(IEnumerable<string> texts, int vocabSize, IReadOnlyList<string> specialTokens)
    {
        var byteToChar = ByteLevelAlphabet.UnicodeToByte.ToDictionary(kv => kv.Value, kv => kv.Key);
        var split = new Regex(HfTokenizer.Qwen2SplitPattern);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
            foreach (Match m in split.Matches(text))
            {
                var word = new string(Encoding.UTF8.GetBytes(m.Value).Select(b => byteToChar[b]).ToArray());
                counts[word] = counts.GetValueOrDefault(word) + 1;
            }

        var words = counts.Select(kv => (Symbols: kv.Key.Select(c => c.ToString()).ToList(), Count: kv.Value)).ToList();
        var vocab = Enumerable.Range(0, 256).Select(b => byteToChar[(byte)b].ToString()).ToList();
        var merges = new List<(string, string)>();
        int target = vocabSize - specialTokens.Count;
        while (vocab.Count < target)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    pairs[(symbols[i], symbols[i + 1])] = pairs.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
            if (pairs.Count == 0) break;
            var best = pairs.OrderByDescending(p => p.Value)
                .ThenBy(p => p.Key.Item1, StringComparer.Ordinal).ThenBy(p => p.Key.Item2, StringComparer.Ordinal).First().Key;
            var merged = best.Item1 + best.Item2;
            merges.Add(best);
            vocab.Add(merged);
            foreach (var (symbols, _) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == best.Item1 && symbols[i + 1] == best.Item2)
                    {
                        symbols[i] = merged;
                        symbols.RemoveAt(i + 1);
                    }
        }
        return new Result(vocab, merges, specialTokens);
    }

    /// <summary>Writes tokenizer.json, vocab.json, merges.txt and tokenizer_config.json.</summary>
    public static void Save(Result result, string dir, string eosToken, string padToken)
    {
        Directory.CreateDirectory(dir);
        var vocab = new JsonObject();
        for (int i = 0; i < result.Vocabulary.Count; i++) vocab[result.Vocabulary[i]] = i;
        var merges = new JsonArray(result.Merges.Select(m => (JsonNode)new JsonArray(m.Left, m.Right)).ToArray());
        var added = new JsonArray();
        var addedDecoder = new JsonObject();
        for (int i = 0; i < result.SpecialTokens.Count; i++)
        {
            int id = result.Vocabulary.Count + i;
            added.Add(new JsonObject
            {
                ["id"] = id, ["content"] = result.SpecialTokens[i], ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
            addedDecoder[id.ToString()] = new JsonObject
            {
                ["content"] = result.SpecialTokens[i], ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false,
                ["single_word"] = false, ["special"] = true,
            };
        }
        JsonObject ByteLevel() => new() { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false };
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = HfTokenizer.Qwen2SplitPattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    ByteLevel()),
            },
            ["post_processor"] = ByteLevel(),
            ["decoder"] = ByteLevel(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "", ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        var options = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizer.ToJsonString(options));
        File.WriteAllText(Path.Combine(dir, "vocab.json"), vocab.ToJsonString(options));
        File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\n" + string.Concat(result.Merges.Select(m => $"{m.Left} {m.Right}\n")));
        var config = new JsonObject
        {
            ["tokenizer_class"] = "Qwen2Tokenizer",
            ["added_tokens_decoder"] = addedDecoder,
            ["bos_token"] = null,
            ["eos_token"] = eosToken,
            ["pad_token"] = padToken,
            ["unk_token"] = null,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = 512,
            ["chat_template"] = ChatPrompt.HfTemplate,
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString(new JsonSerializerOptions(options) { WriteIndented = true }));
    }
}

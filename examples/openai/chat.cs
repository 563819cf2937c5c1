// The official OpenAI .NET SDK against Sprint's gateway, as a .NET 10 file-based app: dotnet run examples/openai/chat.cs
// OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1) and OPENAI_API_KEY as for the other SDKs. The SDK's typed options
// have no n (openai-dotnet#143): n > 1 goes through its protocol method, the SDK's documented way, and the response
// is read as JSON (choices[i] is candidate i; "sprint" holds the verdict); streamed, through the same method.
#:package OpenAI@2.15.0
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;

var options = new OpenAIClientOptions { Endpoint = new Uri(Environment.GetEnvironmentVariable("OPENAI_BASE_URL") ?? "http://127.0.0.1:8080/v1") };
var key = new ApiKeyCredential(Environment.GetEnvironmentVariable("OPENAI_API_KEY") ?? "none");
string model = (await new OpenAI.Models.OpenAIModelClient(key, options).GetModelsAsync()).Value[0].Id;
var chat = new ChatClient(model, key, options);
const string Question = "Mia starts with 21 apples. Mia gives 8 apples to Iris. How many apples does Mia have now?";

BinaryContent Body(int n, int seed, bool stream) => BinaryContent.Create(BinaryData.FromString(new JsonObject
{
    ["model"] = model, ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Question }),
    ["n"] = n, ["seed"] = seed, ["max_tokens"] = 96, ["stream"] = stream,
}.ToJsonString()));

// n = 4, one response.
var completion = JsonNode.Parse((await chat.CompleteChatAsync(Body(4, 1, stream: false))).GetRawResponse().Content.ToString())!;
foreach (var c in completion["choices"]!.AsArray())
    Console.WriteLine($"[{c!["index"]}] {c["finish_reason"]}: {c["message"]!["content"]!.GetValue<string>().Trim().Split('\n')[^1]}");
Console.WriteLine($"verdict: {completion["sprint"]!["verdict"]!["answer"]}; usage: {completion["usage"]!.ToJsonString()}");

// n = 8, streamed as server-sent events.
var streamed = await chat.CompleteChatAsync(Body(8, 2, stream: true), new RequestOptions { BufferResponse = false });
var texts = new Dictionary<int, string>();
await foreach (var item in SseParser.Create(streamed.GetRawResponse().ContentStream!).EnumerateAsync())
{
    if (item.Data == "[DONE]") break;
    var chunk = JsonNode.Parse(item.Data)!;
    foreach (var c in chunk["choices"]!.AsArray())
    {
        int i = c!["index"]!.GetValue<int>();
        texts[i] = texts.GetValueOrDefault(i, "") + (c["delta"]!["content"]?.GetValue<string>() ?? "");
        if (c["finish_reason"] is { } reason) Console.WriteLine($"[{i}] {reason} after {texts[i].Length} characters");
    }
    if (chunk["sprint"]?["verdict"] is { } verdict) Console.WriteLine($"verdict: {verdict["answer"]}, chosen candidate {verdict["chosen_candidate"]}");
}

// One choice, typed (n omitted takes the gateway's default of 8; the typed layer reads the first).
ChatCompletion typed = await chat.CompleteChatAsync([new UserChatMessage(Question)], new ChatCompletionOptions { MaxOutputTokenCount = 96 });
Console.WriteLine($"typed: {typed.Content[0].Text.Trim().Split('\n')[^1]} ({typed.Usage.OutputTokenCount} tokens over all candidates)");

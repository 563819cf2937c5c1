// The official OpenAI .NET SDK against Sprint's gateway, as a .NET 10 file-based app: dotnet run examples/openai/chat.cs
// OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1) and OPENAI_API_KEY as for the other SDKs. The typed layer gets
// SPRINT's answer (one choice: the verdict's chosen candidate); n and best_of are not in the SDK's typed options
// (openai-dotnet#143), so the n-best call goes through its protocol method, the SDK's documented way, and is read as JSON.
#:package OpenAI@2.15.0
using System.ClientModel;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;

var options = new OpenAIClientOptions { Endpoint = new Uri(Environment.GetEnvironmentVariable("OPENAI_BASE_URL") ?? "http://127.0.0.1:8080/v1") };
var key = new ApiKeyCredential(Environment.GetEnvironmentVariable("OPENAI_API_KEY") ?? "none");
string model = (await new OpenAI.Models.OpenAIModelClient(key, options).GetModelsAsync()).Value[0].Id;
var chat = new ChatClient(model, key, options);
const string Question = "Mia starts with 21 apples. Mia gives 8 apples to Iris. How many apples does Mia have now?";

// Default parameters: the gateway's 8 candidates, one choice — the answer.
ChatCompletion answer = await chat.CompleteChatAsync([new UserChatMessage(Question)], new ChatCompletionOptions { MaxOutputTokenCount = 96 });
Console.WriteLine($"answer: {answer.Content[0].Text.Trim().Split('\n')[^1]} ({answer.FinishReason}; {answer.Usage.OutputTokenCount} tokens over all candidates)");

// Streamed: the content that arrives is the chosen candidate's text (after the verdict).
var streamed = new System.Text.StringBuilder();
await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(Question)], new ChatCompletionOptions { MaxOutputTokenCount = 96 }))
    foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
Console.WriteLine($"streamed answer: {streamed.ToString().Trim().Split('\n')[^1]}");

// n = 3 of best_of = 8, best first; "sprint" holds the verdict and which candidate each choice is.
var body = BinaryContent.Create(BinaryData.FromString(new JsonObject
{
    ["model"] = model, ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Question }),
    ["n"] = 3, ["best_of"] = 8, ["seed"] = 1, ["max_tokens"] = 96,
}.ToJsonString()));
var best3 = JsonNode.Parse((await chat.CompleteChatAsync(body)).GetRawResponse().Content.ToString())!;
foreach (var c in best3["choices"]!.AsArray())
    Console.WriteLine($"[{c!["index"]}] candidate {best3["sprint"]!["choice_candidates"]![c["index"]!.GetValue<int>()]}: {c["message"]!["content"]!.GetValue<string>().Trim().Split('\n')[^1]}");
Console.WriteLine($"verdict: {best3["sprint"]!["verdict"]!["answer"]}; usage: {best3["usage"]!.ToJsonString()}");

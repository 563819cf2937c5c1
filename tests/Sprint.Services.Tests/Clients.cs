using System.Text.Json.Nodes;
using Sprint.Answers;

namespace Sprint.Services.Tests;

/// <summary>The Python (Debian grpcio, stubs from protoc) and Node (@grpc/grpc-js) clients in tests/clients, run as programs.</summary>
static class Clients
{
    /// <summary>Runs the Python client; <paramref name="environment"/> carries SPRINT_CA_CERT, SPRINT_API_KEY, ... for a protected suite.</summary>
    public static Task<string> Python(string address, int n, string strategy, IReadOnlyDictionary<string, string>? environment = null) =>
        WithPythonStubs(stubs => Tool.Run(Python3, [Path.Combine(Paths.Root, "tests", "clients", "python", "solve_client.py"), stubs,
            address, Rpc.Question, n.ToString(), strategy], Paths.Root, environment));

    const string Python3 = "/usr/bin/python3";

    /// <summary>Generates the Python stubs of sprint/v1 and the google/api annotations it imports (vendored in protos/google) for one run.</summary>
    static async Task<string> WithPythonStubs(Func<string, Task<string>> run)
    {
        var stubs = Directory.CreateTempSubdirectory("sprint-py").FullName;
        try
        {
            var protos = new[] { Path.Combine("sprint", "v1"), Path.Combine("google", "api") }
                .SelectMany(d => Directory.GetFiles(Path.Combine(Paths.Protos, d), "*.proto")).Select(p => Path.GetRelativePath(Paths.Protos, p));
            await Tool.Run("protoc", ["-I", Paths.Protos, $"--python_out={stubs}", $"--grpc_python_out={stubs}",
                "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin", .. protos], Paths.Protos);
            return await run(stubs);
        }
        finally { Directory.Delete(stubs, recursive: true); }
    }

    public static Task<string> Node(string address, int n, string strategy, IReadOnlyDictionary<string, string>? environment = null)
    {
        var client = Path.Combine(Paths.Root, "tests", "clients", "node");
        if (!Directory.Exists(Path.Combine(client, "node_modules", "@grpc", "grpc-js")))
            throw new DirectoryNotFoundException($"run 'npm ci' in {client} first (.ci/run does)");
        return Tool.Run("node", [Path.Combine(client, "solve_client.mjs"), address, Rpc.Question, n.ToString(), strategy], client, environment);
    }

    /// <summary>The official `openai` npm package against the OpenAI-compatible routes (tests/clients/node/openai_client.mjs).</summary>
    public static Task<string> NodeOpenAi(string baseUrl, string model, int bestOf, ulong seed, string mode, IReadOnlyDictionary<string, string>? environment = null)
    {
        var client = Path.Combine(Paths.Root, "tests", "clients", "node");
        if (!Directory.Exists(Path.Combine(client, "node_modules", "openai")))
            throw new DirectoryNotFoundException($"run 'npm ci' in {client} first (.ci/run does)");
        return Tool.Run("node", [Path.Combine(client, "openai_client.mjs"), baseUrl, model, Rpc.Question, bestOf.ToString(), seed.ToString(), mode], client, environment);
    }

    /// <summary>
    /// The clients' JSON summary: plan first, verdict last, every candidate's streamed text equal to its result (a
    /// stopped one's result is the text up to its failed line: a prefix), n candidates and one more per replacement,
    /// the stops the verdict lists, every finished candidate checked, the verdict a majority of the rest.
    /// </summary>
    public static void AssertSummary(string json, int n)
    {
        var s = JsonNode.Parse(json)!;
        var events = s["events"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.Equal("plan", events[0]);
        Assert.Equal("verdict", events[^1]);
        var stops = s["stops"]!.AsObject();
        int replacements = stops.Count(x => x.Value!["replacement"] is not null);
        var candidates = s["candidates"]!.AsObject();
        Assert.Equal(n + replacements, candidates.Count);
        Assert.Equal(n, s["plan"]!.AsArray().Count);
        Assert.Equal(stops.Select(x => x.Key).Order(), s["verdict"]!["stopped"]!.AsArray().Select(x => x!.ToString()).Order());
        foreach (var (index, c) in candidates)
        {
            Assert.Equal("", c!["error"]!.GetValue<string>());
            var streamed = s["deltas"]![index]?.GetValue<string>() ?? "";
            if (c["rejected"]!.GetValue<bool>())
            {
                Assert.True(stops.ContainsKey(index), $"candidate {index} ended rejected without a stop event");
                Assert.StartsWith(c["text"]!.GetValue<string>(), streamed);
            }
            else Assert.Equal(streamed, c["text"]!.GetValue<string>());
        }
        // The default aggregation is the verified vote: every finished candidate with text is checked, the candidates
        // with a failed step are left out (unless all of them fail), and the verdict is the majority of the rest.
        Assert.Equal("AGGREGATION_VERIFIED_MAJORITY", s["verdict"]!["aggregation"]!.ToString());
        var checks = s["checks"]!.AsObject();
        var finished = candidates.Where(c => !c.Value!["rejected"]!.GetValue<bool>()).ToList();
        Assert.All(finished.Where(c => c.Value!["text"]!.GetValue<string>().Length > 0), c => Assert.True(checks.ContainsKey(c.Key), $"candidate {c.Key} was not checked"));
        Assert.All(checks, c => Assert.True(candidates.ContainsKey(c.Key)));
        var excluded = s["verdict"]!["excluded"]!.AsArray().Select(e => e!.ToString()).ToHashSet();
        var failedSteps = checks.Where(c => c.Value!["failed"]!.GetValue<int>() > 0).Select(c => c.Key).ToHashSet();
        if (excluded.Count > 0) Assert.Equal(failedSteps.Intersect(finished.Where(c => c.Value!["answer"]!.GetValue<string>().Length > 0).Select(c => c.Key)).ToHashSet(), excluded);
        var answers = finished.Where(c => !excluded.Contains(c.Key)).Select(c => c.Value!["answer"]!.GetValue<string>()).Where(a => a.Length > 0)
            .GroupBy(AnswerNormalizer.Normalize).ToDictionary(g => g.Key, g => g.Count());
        var verdict = s["verdict"]!["answer"]!.GetValue<string>();
        if (answers.Count == 0) Assert.Equal("", verdict);
        else Assert.Equal(answers.Values.Max(), answers[verdict]);
    }

    /// <summary>The Python client of the Verifier: Check on two candidates, one whose step fails; prints the results as JSON.</summary>
    public static Task<string> PythonCheck(string address) =>
        WithPythonStubs(stubs => Tool.Run(Python3, [Path.Combine(Paths.Root, "tests", "clients", "python", "check_client.py"), stubs, address], Paths.Root));
}

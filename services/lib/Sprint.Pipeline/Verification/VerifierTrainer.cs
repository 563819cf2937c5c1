using System.Security.Cryptography;
using Sprint.Pipeline.Evaluation;
using Sprint.Problems;
using Sprint.Verification;
using TorchSharp;
using static TorchSharp.torch;

namespace Sprint.Pipeline.Verification;

public sealed record VerifierTrainingOptions
{
    public int HiddenDim { get; init; } = 128;
    public int Epochs { get; init; } = 60;
    public int Batch { get; init; } = 256;
    public double LearningRate { get; init; } = 1e-3;
    public double WeightDecay { get; init; } = 1e-2;
    public int Patience { get; init; } = 8;
    public double DevFraction { get; init; } = 0.1;
    public int Seed { get; init; } = 1;
}

public sealed record VerifierTrainingReport(int TrainQuestions, int DevQuestions, int TrainCandidates, int DevCandidates, double TrainShareRight,
    int BestEpoch, double BestDevLoss, double Temperature, double DevAuc, double DevEce, double DevEceBeforeCalibration,
    IReadOnlyList<Calibration.Bin> Reliability, double FeatureSeconds, double TrainSeconds);

/// <summary>
/// Trains the outcome verifier on labelled candidates (<c>sprint label-candidates</c>): every candidate is one example,
/// labelled by whether its final answer is right — duplicates included, as the vote sees them, so that the calibrated
/// probability is one for candidates as they come (the features of a text are computed once). Questions are split (seeded) into
/// train and dev, so no dev question's candidates are seen in training. The features of the frozen model
/// (<see cref="SolutionFeatures"/>) are the costly part; they are appended to a cache file question by question, so an
/// interrupted run resumes where it stopped. The MLP trains with binary cross-entropy and AdamW, stops early on the
/// dev loss (the best epoch's weights are kept), then one temperature is fitted on dev (calibration).
/// </summary>
public static class VerifierTrainer
{
    public sealed record Example(string QuestionId, string Text, bool Right);

    public static (VerifierArtifact Artifact, VerifierTrainingReport Report) Train(SolutionFeatures features, string logPath, IReadOnlyList<Problem> problems,
        string cachePath, VerifierTrainingOptions o, TextWriter log)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var byId = problems.ToDictionary(p => p.Id);
        var loaded = CandidateLog.Load(logPath, problems);
        var questions = loaded.GroupBy(kv => kv.Key.Id).Select(g => (Problem: byId[g.Key], Examples: g.SelectMany(kv => kv.Value.Candidates)
                .Where(c => c.Text.Length > 0).Select(c => new Example(g.Key, c.Text, c.Correct)).ToList()))
            .Where(q => q.Examples.Count > 0).OrderBy(q => q.Problem.Id, StringComparer.Ordinal).ToList();
        if (questions.Count < 10) throw new InvalidOperationException($"{logPath} holds candidates of {questions.Count} questions: too few to train a verifier");

        var rows = FeatureCache.ReadOrCompute(cachePath, features, questions.Select(q => (q.Problem, (IReadOnlyList<Example>)q.Examples)).ToList(), log);
        double featureSeconds = clock.Elapsed.TotalSeconds;

        var random = new Random(o.Seed);
        var shuffled = questions.Select(q => q.Problem.Id).OrderBy(_ => random.Next()).ToList();
        var devIds = shuffled.Take(Math.Max(1, (int)Math.Round(shuffled.Count * o.DevFraction))).ToHashSet();
        var train = questions.Where(q => !devIds.Contains(q.Problem.Id)).SelectMany(q => q.Examples).ToList();
        var dev = questions.Where(q => devIds.Contains(q.Problem.Id)).SelectMany(q => q.Examples).ToList();
        log.WriteLine($"{questions.Count - devIds.Count} train / {devIds.Count} dev questions; {train.Count} / {dev.Count} candidates, {100.0 * train.Count(e => e.Right) / train.Count:F1} % right");

        torch.manual_seed(o.Seed);
        var (trainX, trainY) = Tensors(train, rows, features.Dimension);
        var (devX, devY) = Tensors(dev, rows, features.Dimension);
        var network = new VerifierNetwork(features.Dimension, o.HiddenDim);
        network.SetStandardisation(trainX.mean([0]), trainX.std([0]));
        using var optimizer = optim.AdamW(network.parameters(), o.LearningRate, weight_decay: o.WeightDecay);
        double best = double.PositiveInfinity;
        int bestEpoch = 0;
        var bestState = new Dictionary<string, Tensor>();
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            network.train();
            foreach (var chunk in Enumerable.Range(0, train.Count).OrderBy(_ => random.Next()).Chunk(o.Batch))
            {
                using var scope = NewDisposeScope();
                var index = tensor(chunk.Select(i => (long)i).ToArray());
                optimizer.zero_grad();
                var loss = nn.functional.binary_cross_entropy_with_logits(network.Logits(trainX.index_select(0, index)), trainY.index_select(0, index));
                loss.backward();
                optimizer.step();
            }
            network.eval();
            double devLoss = Loss(network, devX, devY, 1.0);
            if (devLoss < best - 1e-5)
            {
                best = devLoss;
                bestEpoch = epoch;
                foreach (var t in bestState.Values) t.Dispose();
                bestState = network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            }
            log.WriteLine($"epoch {epoch}: dev loss {devLoss:F4} (best {best:F4} at epoch {bestEpoch})");
            if (epoch - bestEpoch >= o.Patience) break;
        }
        network.load_state_dict(bestState);
        network.eval();

        var labels = dev.Select(e => e.Right).ToList();
        double eceBefore = Calibration.Ece(Predict(network, devX), labels);
        // One temperature, the dev NLL's minimum on a fine grid (the loss is convex in 1/T; a grid is exact enough and cannot diverge).
        double temperature = Enumerable.Range(0, 281).Select(i => 0.2 + i * 0.01).MinBy(t => Loss(network, devX, devY, t));
        network.SetTemperature(temperature);
        var devScores = Predict(network, devX);
        var report = new VerifierTrainingReport(questions.Count - devIds.Count, devIds.Count, train.Count, dev.Count, train.Average(e => e.Right ? 1.0 : 0.0),
            bestEpoch, best, temperature, Calibration.Auc(devScores, labels), Calibration.Ece(devScores, labels), eceBefore,
            Calibration.Reliability(devScores, labels), featureSeconds, clock.Elapsed.TotalSeconds - featureSeconds);
        var artifact = new VerifierArtifact(network, new VerifierMetadata
        {
            ModelId = features.FeaturesId.Split(':')[0],
            FeaturesId = features.FeaturesId,
            InputDim = features.Dimension,
            HiddenDim = o.HiddenDim,
            TrainingDataSha256 = Sha256(logPath),
            TrainCandidates = train.Count,
            DevCandidates = dev.Count,
            Seed = o.Seed,
            DevAuc = Math.Round(report.DevAuc, 4),
            DevEce = Math.Round(report.DevEce, 4),
        });
        return (artifact, report);
    }

    static (Tensor X, Tensor Y) Tensors(List<Example> examples, IReadOnlyDictionary<(string, string), float[]> rows, int dim) =>
        (tensor(examples.SelectMany(e => rows[(e.QuestionId, e.Text)]).ToArray()).view(examples.Count, dim),
         tensor(examples.Select(e => e.Right ? 1f : 0f).ToArray()));

    static double Loss(VerifierNetwork network, Tensor x, Tensor y, double temperature)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return nn.functional.binary_cross_entropy_with_logits(network.Logits(x) / temperature, y).item<float>();
    }

    static List<double> Predict(VerifierNetwork network, Tensor x)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return network.Probabilities(x).data<float>().Select(v => (double)v).ToList();
    }

    static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>
/// The features of every (question, text) example in an append-only binary file, written question by question: a
/// resumed run reads what is there (a cut-off tail is dropped) and computes only the rest. The file names the
/// features' id; a cache of other features is refused rather than mixed in.
/// </summary>
public static class FeatureCache
{
    public static IReadOnlyDictionary<(string, string), float[]> ReadOrCompute(string path, SolutionFeatures features,
        IReadOnlyList<(Problem Problem, IReadOnlyList<VerifierTrainer.Example> Examples)> questions, TextWriter log)
    {
        var rows = Read(path, features);
        var todo = questions.Where(q => q.Examples.Any(e => !rows.ContainsKey((e.QuestionId, e.Text)))).ToList();
        // Each distinct text once.
        todo = todo.Select(q => (q.Problem, (IReadOnlyList<VerifierTrainer.Example>)q.Examples.DistinctBy(e => e.Text).ToList())).ToList();
        if (rows.Count > 0) log.WriteLine($"{rows.Count} candidates' features read from {path}");
        if (todo.Count == 0) return rows;
        bool fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        using var writer = new BinaryWriter(new FileStream(path, FileMode.Append, FileAccess.Write));
        if (fresh) writer.Write(features.FeaturesId);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int done = 0, candidates = 0, total = todo.Sum(q => q.Examples.Count);
        foreach (var (problem, examples) in todo)
        {
            var missing = examples.Where(e => !rows.ContainsKey((e.QuestionId, e.Text))).ToList();
            var vectors = features.Read(problem.Question, missing.Select(e => e.Text).ToList());
            for (int i = 0; i < missing.Count; i++)
            {
                rows[(missing[i].QuestionId, missing[i].Text)] = vectors[i];
                writer.Write(missing[i].QuestionId);
                writer.Write(missing[i].Text);
                writer.Write(vectors[i].Length);
                foreach (var v in vectors[i]) writer.Write(v);
            }
            writer.Flush();
            done++;
            candidates += missing.Count;
            if (done % 100 == 0 || done == todo.Count)
            {
                double rate = candidates / clock.Elapsed.TotalSeconds;
                log.WriteLine($"  features: {done}/{todo.Count} questions  {rate:F0} candidates/s  ETA {TimeSpan.FromSeconds((total - candidates) / rate):hh\\:mm\\:ss}");
            }
        }
        return rows;
    }

    static Dictionary<(string, string), float[]> Read(string path, SolutionFeatures features)
    {
        var rows = new Dictionary<(string, string), float[]>();
        if (!File.Exists(path) || new FileInfo(path).Length == 0) return rows;
        using var reader = new BinaryReader(File.OpenRead(path));
        var id = reader.ReadString();
        if (id != features.FeaturesId)
            throw new InvalidOperationException($"{path} holds features '{id}', not '{features.FeaturesId}': delete it or name another --cache");
        try
        {
            while (reader.BaseStream.Position < reader.BaseStream.Length)
            {
                var question = reader.ReadString();
                var text = reader.ReadString();
                int n = reader.ReadInt32();
                if (n != features.Dimension) throw new InvalidOperationException($"{path}: a row of {n} features, expected {features.Dimension}");
                var v = new float[n];
                for (int i = 0; i < n; i++) v[i] = reader.ReadSingle();
                rows[(question, text)] = v;
            }
        }
        catch (EndOfStreamException) { }   // the row an interrupted run was writing
        return rows;
    }
}

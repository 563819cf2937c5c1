using System.CommandLine;

namespace Sprint.Cli;

public static class SprintCommand
{
    public static RootCommand Create() => new("sprint — SPRINT best-of-N reasoning with pruned attention heads: gRPC suite, engine and offline tools")
    {
        GenerateCommand.Create(),
        ConformanceCommand.Create(),
        BenchCommand.Create(),
        DataCommand.Create(),
        TrainLmCommand.Create(),
        EvalCommand.Create(),
        ProfileCommand.Create(),
        TrainSelectorCommand.Create(),
        LabelCandidatesCommand.Create(),
        TrainVerifierCommand.Create(),
        ServeCommand.Create(),
        SolveCommand.Create(),
        AuthCommand.Create(),
        AnalyzeCommand.Create(),
    };
}

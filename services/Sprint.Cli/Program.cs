using System.CommandLine;
using Sprint.Cli;

var root = new RootCommand("sprint — SPRINT best-of-N reasoning with pruned attention heads: engine and offline tools")
{
    GenerateCommand.Create(),
    ConformanceCommand.Create(),
    BenchCommand.Create(),
};
return await root.Parse(args).InvokeAsync();

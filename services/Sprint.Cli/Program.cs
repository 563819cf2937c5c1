using Sprint.Cli;

return await SprintCommand.Create().Parse(args).InvokeAsync();

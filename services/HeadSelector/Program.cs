using Sprint.HeadSelector;
using Sprint.ServiceDefaults;

return SprintServiceHost.Run(args, "head-selector", defaultPort: 5002, b => b.AddHeadSelector(), a => a.MapHeadSelector());

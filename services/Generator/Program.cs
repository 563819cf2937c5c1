using Sprint.Generator;
using Sprint.ServiceDefaults;

return SprintServiceHost.Run(args, "generator", defaultPort: 5003, b => b.AddGenerator(), a => a.MapGenerator());

using Sprint.Gateway;
using Sprint.ServiceDefaults;

return SprintServiceHost.Run(args, "gateway", defaultPort: 5000, b => b.AddGateway(), a => a.MapGateway());

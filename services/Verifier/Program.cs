using Sprint.Verifier;
using Sprint.ServiceDefaults;

return SprintServiceHost.Run(args, "verifier", defaultPort: 5004, b => b.AddVerifier(), a => a.MapVerifier());

using Sprint.Embedding;
using Sprint.ServiceDefaults;

return SprintServiceHost.Run(args, "embedding", defaultPort: 5001, b => b.AddEmbedding(), a => a.MapEmbedding());

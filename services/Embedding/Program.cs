using Sprint.Embedding;
using Sprint.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("embedding", defaultPort: 5001).AddEmbedding();
var app = builder.Build();
app.MapEmbedding().MapServiceDefaults();
app.Run();

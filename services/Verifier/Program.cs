using Sprint.ServiceDefaults;
using Sprint.Verifier;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("verifier", defaultPort: 5004).AddVerifier();
var app = builder.Build();
app.MapVerifier().MapServiceDefaults();
app.Run();

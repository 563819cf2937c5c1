using Sprint.Generator;
using Sprint.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("generator", defaultPort: 5003).AddGenerator();
var app = builder.Build();
app.MapGenerator().MapServiceDefaults();
app.Run();

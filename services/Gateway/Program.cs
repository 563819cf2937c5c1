using Sprint.Gateway;
using Sprint.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("gateway", defaultPort: 5000).AddGateway();
var app = builder.Build();
app.MapGateway().MapServiceDefaults();
app.Run();

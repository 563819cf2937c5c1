// Streams one Solve from the Sprint gateway and prints a JSON summary of the stream.
// Usage: node solve_client.mjs ADDRESS QUESTION N STRATEGY   (host:port, e.g. 127.0.0.1:5000)
// Loads the service definitions from protos/ at run time with @grpc/proto-loader.
// A protected suite: SPRINT_CA_CERT (PEM CA: TLS), SPRINT_CLIENT_CERT and SPRINT_CLIENT_KEY (mutual TLS),
// SPRINT_API_KEY (sent as authorization: Bearer).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const protos = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../protos');
const definition = protoLoader.loadSync('sprint/v1/gateway.proto', {
  includeDirs: [protos], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
});
const sprint = grpc.loadPackageDefinition(definition).sprint.v1;

const [address, question, n, strategy] = process.argv.slice(2);
const read = (variable) => (process.env[variable] ? fs.readFileSync(process.env[variable]) : null);
const credentials = process.env.SPRINT_CA_CERT
  ? grpc.credentials.createSsl(read('SPRINT_CA_CERT'), read('SPRINT_CLIENT_KEY'), read('SPRINT_CLIENT_CERT'))
  : grpc.credentials.createInsecure();
const metadata = new grpc.Metadata();
if (process.env.SPRINT_API_KEY) metadata.set('authorization', `Bearer ${process.env.SPRINT_API_KEY}`);
const client = new sprint.GatewayService(address, credentials);
const summary = { events: [], plan: [], candidates: {}, deltas: {}, checks: {}, stops: {}, verdict: null };
const deadline = new Date(Date.now() + 120_000);
const call = client.Solve({ question, n: Number(n), strategy: `STRATEGY_${strategy.toUpperCase()}`, max_new_tokens: 96 }, metadata, { deadline });

call.on('data', (event) => {
  summary.events.push(event.event);
  if (event.event === 'plan') summary.plan = event.plan.candidates.map((c) => c.configuration.name);
  else if (event.event === 'restart') summary.deltas[String(event.restart.index)] = '';   // starts over elsewhere
  else if (event.event === 'delta') {
    const key = String(event.delta.index);
    summary.deltas[key] = (summary.deltas[key] ?? '') + event.delta.text;
  } else if (event.event === 'stop') {
    // A failed written step: the candidate is stopped (its result follows, FINISH_REASON_REJECTED), maybe replaced.
    const s = event.stop;
    summary.stops[String(s.index)] = { step: s.failure.step, replacement: s.replacement ?? null };
  } else if (event.event === 'candidate') {
    const c = event.candidate;
    summary.candidates[String(c.index)] = { configuration: c.configuration, text: c.text, answer: c.answer, error: c.error,
      rejected: c.finish_reason === 'FINISH_REASON_REJECTED' };
  } else if (event.event === 'check') {
    const c = event.check;
    summary.checks[String(c.index)] = { checked: c.checked_steps, failed: c.failed_steps };
  } else if (event.event === 'verdict') {
    const v = event.verdict;
    summary.verdict = { answer: v.answer, chosen: v.chosen_candidate, votes: Object.fromEntries(v.votes.map((x) => [x.answer, x.votes])),
      aggregation: v.aggregation, excluded: v.excluded_candidates, stopped: v.stopped_candidates };
  }
});
call.on('error', (error) => {
  console.error(`Solve failed: ${error.code} ${error.details}`);
  process.exit(1);
});
call.on('end', () => {
  console.log(JSON.stringify(summary));
  client.close();
});

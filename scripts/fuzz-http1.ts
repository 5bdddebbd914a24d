/**
 * Long differential fuzz run of the lean engine's request parser against node's (llhttp):
 *   node --import tsx scripts/fuzz-http1.ts --count 1000000 --seed 1
 * Prints progress, every disagreement (seed, index, the input escaped) and a summary; exits 1
 * when any was found. A finding is replayed with --seed S --from I --count 1.
 */
import { parseArgs } from 'node:util';
import { closeOracle, compare, escape, generate, Rng, runNode, runOurs, type Case, type Outcome } from '../test/proxy/http1/fuzz-kit.js';
import { compareResponse, generateResponse, runNodeResponse, runOursResponse, type ResponseOutcome } from '../test/proxy/http1/response-fuzz-kit.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' }, from: { type: 'string', default: '0' }, max: { type: 'string', default: '20' }, verbose: { type: 'boolean', default: false }, responses: { type: 'boolean', default: false } } });
const count = Number(values.count), seed = Number(values.seed), from = Number(values.from), maxFindings = Number(values.max);

const rng = new Rng(seed);
const started = Date.now();
const tally = { bothAccepted: 0, bothRefused: 0, oursStricter: 0, nodeMessages: 0 };
let findings = 0;
const reasons = new Map<string, number>();
const count1 = (k: string) => reasons.set(k, (reasons.get(k) ?? 0) + 1);
type Pair = [Outcome, Outcome, string | null];
async function requests(c: Case): Promise<Pair> {
  const node = await runNode(c);
  const ours = runOurs(c);
  return [node, ours, compare(node, ours)];
}
/** Response outcomes in the request outcomes' shape, for the same tally. */
const asOutcome = (r: ResponseOutcome): Outcome => ({
  messages: r.end === 'complete' ? [{ method: '', target: String(r.status), host: '', body: r.body, upgrade: false }] : [],
  end: r.end === 'complete' ? 'clean' : r.end, why: r.why,
});
async function responses(c: Case): Promise<Pair> {
  const node = await runNodeResponse(c);
  const ours = runOursResponse(c);
  return [asOutcome(node), asOutcome(ours), compareResponse(node, ours)];
}

for (let i = 0; i < from + count; i++) {
  const c: Case = values.responses ? generateResponse(rng) : generate(rng);
  if (i < from) continue;
  const [node, ours, diff] = values.responses ? await responses(c) : await requests(c);
  tally.nodeMessages += node.messages.length;
  if (diff !== null) {
    findings++;
    console.log(`FINDING seed=${seed} index=${i}: ${diff}\n  input: ${escape(c.bytes)} splits=${JSON.stringify(c.splits)}\n  node: ${node.end} ${node.why}; ours: ${ours.end} ${ours.why}`);
    if (findings >= maxFindings) break;
  } else if (ours.messages.length < node.messages.length || (node.end !== 'refused' && ours.end === 'refused')) {
    tally.oursStricter++;
    count1(`ours only: ${ours.why.replace(/field \S+:/, 'field _:')}`);
  } else if (node.end === 'refused') { tally.bothRefused++; count1(`both: ${node.why}`); }
  else tally.bothAccepted++;
  if ((i + 1) % 100000 === 0) console.log(`${i + 1} inputs, ${((Date.now() - started) / 1000).toFixed(0)} s, ${findings} findings`);
}
closeOracle();
if (values.verbose) for (const [k, v] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(String(v).padStart(8), k);
console.log(JSON.stringify({ seed, from, count, seconds: (Date.now() - started) / 1000, findings, ...tally }));
process.exit(findings ? 1 : 0);

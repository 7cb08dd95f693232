#!/usr/bin/env node
// Peer benchmark driver: comfyctl side by side with @saintno/comfyui-sdk,
// wait-on and a plain curl loop, measured in one run. Started by run.sh:
//
//   node bench/peers/driver.mjs --scratch DIR --bin-dir target/release
//
// DIR holds node_modules with @saintno/comfyui-sdk and wait-on (installed by
// run.sh, never into the repo). Everything runs on 127.0.0.1 against
// comfyui-mock processes this script spawns, kills and restarts itself.
//
// What is measured (all times are this process's performance.now() at the
// moment it saw the event):
//
// - detection: from sending SIGKILL to the mock to the observer noticing
//   (comfyctl `watch --json` printing `"state":"disconnected"`; the SDK
//   dispatching `disconnected`). A real ComfyUI's sockets just end on
//   SIGTERM/SIGKILL with no close frame, so SIGKILL is the realistic signal.
// - recovery after 2 s / 10 s / 30 s outages: from the restarted mock's
//   readiness line to the observer being back (comfyctl `"state":"connected"`,
//   which needs HTTP + WebSocket + first status; the SDK's `reconnected`,
//   dispatched when its new WebSocket opens). Each outage length uses a fresh
//   mock, a fresh `comfyctl watch` and a fresh ComfyApi, which watch the same
//   outage at the same time (identical conditions for both).
// - second outage in the same process, and an outage after the client sat
//   idle for a while: whether each observer still notices, bounded.
// - readiness-gate lag: the gate command is started first, the mock 1-3 s
//   later on the port the gate polls; from the mock's readiness line to the
//   gate process exiting (exit 0 required). comfyctl `health --wait`,
//   wait-on (http-get) and `until curl -sf ...; do sleep 1; done`, in an
//   order rotated each repetition.
//
// The SDK is used with its defaults: `new ComfyApi(url)` then `init()`. Its
// reconnection is built in (there is no option to turn it on or off).
//
// Environment knobs: PEERS_OUTAGES (default "2,10,30", seconds),
// PEERS_GATE_REPS (5), PEERS_BOUND_S (60: "never" means not within this),
// PEERS_IDLE_S (20: idle time before the kill in the idle trial; the SDK's
// own idle timeout is 10 s, checked every 5 s).
//
// Output: a markdown table (stdout), then the samples and notes; progress on
// stderr. Exit 1 if any phase failed (what was measured is still printed).

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { performance } from "node:perf_hooks";

// ---------------------------------------------------------------- set-up

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--scratch" || a === "--bin-dir") {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      out[a.slice(2)] = argv[++i];
    } else {
      throw new Error(`unknown argument ${a} (usage: driver.mjs --scratch DIR --bin-dir DIR)`);
    }
  }
  if (!out.scratch || !out["bin-dir"]) {
    throw new Error("usage: driver.mjs --scratch DIR --bin-dir DIR");
  }
  return out;
}

function envNum(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${v}: expected a positive number`);
  return n;
}

const args = parseArgs(process.argv.slice(2));
const SCRATCH = path.resolve(args.scratch);
const BIN_DIR = path.resolve(args["bin-dir"]);
const COMFYCTL = path.join(BIN_DIR, "comfyctl");
const MOCK = path.join(BIN_DIR, "comfyui-mock");
const WAIT_ON = path.join(SCRATCH, "node_modules", ".bin", "wait-on");

const OUTAGES_S = (process.env.PEERS_OUTAGES || "2,10,30").split(",").map((s) => {
  const n = Number(s.trim());
  if (!Number.isFinite(n) || n <= 0 || n > 120) throw new Error(`PEERS_OUTAGES: bad value ${s}`);
  return n;
});
const GATE_REPS = Math.min(50, Math.round(envNum("PEERS_GATE_REPS", 5)));
const BOUND_S = Math.min(300, envNum("PEERS_BOUND_S", 60));
const BOUND = BOUND_S * 1000;
const IDLE_S = Math.min(120, envNum("PEERS_IDLE_S", 20));
const CONNECT_BOUND = 15_000; // first connection of a fresh observer
const NEVER = `never (>${BOUND_S} s)`;

for (const f of [COMFYCTL, MOCK, WAIT_ON]) {
  if (!fs.existsSync(f)) throw new Error(`missing ${f} (run bench/peers/run.sh)`);
}

const requireFromScratch = createRequire(path.join(SCRATCH, "noop.js"));
const { ComfyApi } = requireFromScratch("@saintno/comfyui-sdk");
const sdkVersion = readPkgVersion("@saintno/comfyui-sdk");
const waitOnVersion = readPkgVersion("wait-on");

function readPkgVersion(name) {
  const p = path.join(SCRATCH, "node_modules", ...name.split("/"), "package.json");
  return JSON.parse(fs.readFileSync(p, "utf8")).version;
}

function toolVersion(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0 || !r.stdout) return null;
  return r.stdout.split("\n")[0].trim();
}

const haveCurl = toolVersion("curl", ["--version"]) !== null;

const now = () => performance.now();
const T0 = now();
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
function log(msg) {
  process.stderr.write(`[peers ${((now() - T0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
}

// SDK internals can reject promises nobody awaits (init() does not catch
// every call it starts); note them instead of letting Node abort the run.
let unhandled = 0;
process.on("unhandledRejection", (e) => {
  unhandled++;
  log(`unhandled rejection (from the SDK?): ${e && e.message ? e.message : e}`);
});

// Every child is tracked and killed when this process exits, however it exits.
const children = new Set();
function track(child) {
  children.add(child);
  child.on("error", (e) => log(`child process error: ${e.message}`));
  child.once("exit", () => children.delete(child));
  return child;
}
process.on("exit", () => {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    log(`${sig}: stopping, killing ${children.size} child process(es)`);
    process.exit(130);
  });
}

function alive(child) {
  return child.exitCode === null && child.signalCode === null;
}

function exited(child, ms) {
  if (!alive(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopChild(child, sig = "SIGTERM", graceMs = 5000) {
  if (!child || !alive(child)) return;
  try {
    child.kill(sig);
  } catch {
    return;
  }
  if (!(await exited(child, graceMs))) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
    await exited(child, graceMs);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- events

// Timestamped events with waiters: waitFor(name, after, deadline) resolves
// with the time of the first `name` seen at or after `after`, or null if
// none came before `deadline` (both performance.now() values).
class EventLog {
  constructor() {
    this.events = [];
    this.waiters = new Set();
  }
  push(name) {
    const e = { name, t: now() };
    this.events.push(e);
    for (const w of [...this.waiters]) w(e);
  }
  first(name, after, before = Infinity) {
    const e = this.events.find((x) => x.name === name && x.t >= after && x.t <= before);
    return e ? e.t : null;
  }
  count(name, after, before = Infinity) {
    return this.events.filter((x) => x.name === name && x.t >= after && x.t <= before).length;
  }
  waitFor(name, after, deadline) {
    const hit = this.first(name, after);
    if (hit !== null) return Promise.resolve(hit);
    return new Promise((resolve) => {
      const w = (e) => {
        if (e.name === name && e.t >= after) {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve(e.t);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        resolve(null);
      }, Math.max(0, deadline - now()));
      this.waiters.add(w);
    });
  }
}

// ---------------------------------------------------------------- processes

// Starts comfyui-mock on `port` (0: a free one) and waits for its readiness
// line. readyAt is when this process read that line.
async function startMock(port) {
  const child = track(spawn(MOCK, ["--port", String(port)], { stdio: ["ignore", "pipe", "ignore"] }));
  const rl = readline.createInterface({ input: child.stdout });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("comfyui-mock printed no readiness line within 10 s")), 10_000);
    rl.once("line", (line) => {
      const t = now();
      clearTimeout(timer);
      try {
        const ev = JSON.parse(line);
        if (ev.event !== "listening" || !ev.port) throw new Error(`unexpected first line: ${line}`);
        resolve({ port: ev.port, readyAt: t });
      } catch (e) {
        reject(e);
      }
    });
    child.once("exit", (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`comfyui-mock --port ${port} exited before its readiness line (code ${code}, signal ${sig})`));
    });
  }).catch(async (e) => {
    await stopChild(child, "SIGKILL");
    throw e;
  });
  rl.on("line", () => {}); // stays quiet on stdout; drain anyway
  return { child, port: ready.port, readyAt: ready.readyAt };
}

// `comfyctl watch --json`: every `state` event goes into the log.
function startWatch(url) {
  const child = track(
    spawn(COMFYCTL, ["watch", "--json", "--url", url], { stdio: ["ignore", "pipe", "ignore"] }),
  );
  const events = new EventLog();
  readline.createInterface({ input: child.stdout }).on("line", (line) => {
    let ev;
    try {
      ev = JSON.parse(line);
    } catch {
      return;
    }
    if (ev.event === "state" && typeof ev.state === "string") events.push(ev.state);
  });
  return {
    events,
    stop: () => stopChild(child, "SIGTERM"),
  };
}

// The SDK, in this process, with its defaults: new ComfyApi(url).init().
const SDK_EVENTS = ["connected", "disconnected", "reconnecting", "reconnected", "reconnection_failed", "connection_error"];
function startSdk(url) {
  const api = new ComfyApi(url);
  const events = new EventLog();
  for (const name of SDK_EVENTS) api.on(name, () => events.push(name));
  // `status` comes from the WebSocket ({status, sid}) or, while the socket is
  // down, from the SDK's HTTP polling fallback (the GET /prompt body,
  // {exec_info}). The polled ones show when the SDK could have known the
  // server was back.
  api.on("status", (e) => {
    if (e.detail && typeof e.detail === "object" && "exec_info" in e.detail) events.push("polled_status");
  });
  // The SDK's `log` event narrates its reconnect loop; "Reconnection
  // successful" / "Maximum reconnection attempts" end one. Used only to let
  // that loop finish before a later outage (see settle()).
  api.on("log", (e) => {
    const m = e.detail && e.detail.message;
    if (typeof m === "string" && (m === "Reconnection successful" || m.startsWith("Maximum reconnection attempts"))) {
      events.push("reconnect_loop_done");
    }
  });
  api.init();
  return {
    api,
    events,
    stop() {
      api.destroy();
      // destroy() leaves the reconnect retry timer running, which would open
      // new sockets (and a polling timer) for a client we are done with;
      // neutralise them so they cannot disturb later measurements.
      api.createSocket = () => {};
      api.setupPollingFallback = () => {};
    },
  };
}

// A fresh mock with a fresh comfyctl watch and a fresh SDK client on it.
async function freshPair() {
  const mock = await startMock(0);
  const url = `http://127.0.0.1:${mock.port}`;
  const t0 = now();
  const pair = { mock, url, watch: startWatch(url), sdk: startSdk(url) };
  const [c, s] = await Promise.all([
    pair.watch.events.waitFor("connected", t0, t0 + CONNECT_BOUND),
    pair.sdk.events.waitFor("connected", t0, t0 + CONNECT_BOUND),
  ]);
  if (c === null || s === null) {
    await closePair(pair);
    throw new Error(
      `first connection not made within ${CONNECT_BOUND / 1000} s (comfyctl: ${c !== null}, SDK: ${s !== null})`,
    );
  }
  pair.connectedAt = Math.max(c, s);
  return pair;
}

async function closePair(pair) {
  if (!pair) return;
  try {
    pair.sdk.stop();
  } catch (e) {
    log(`SDK destroy failed: ${e.message}`);
  }
  await Promise.all([pair.watch.stop(), stopChild(pair.mock.child, "SIGKILL")]);
}

// After a reconnect the SDK keeps a retry timer pending (up to ~15 s) that
// opens a new socket if the current one is not open when it fires; an outage
// inside that window would be "recovered" by accident, without the SDK ever
// noticing it. A later outage in real life comes long after, so wait (bounded)
// until that loop has ended. Returns how long it waited.
async function settle(pair) {
  const t = now();
  const lastReconnecting = pair.sdk.events.events.filter((e) => e.name === "reconnecting").pop();
  if (!lastReconnecting) return 0;
  const done = await pair.sdk.events.waitFor("reconnect_loop_done", lastReconnecting.t, t + 30_000);
  if (done === null) log("SDK reconnect loop still running after 30 s; going on");
  return now() - t;
}

// SIGKILL the mock, restart it on the same port `outageS` seconds after the
// kill, and time both observers. Every wait is bounded by BOUND.
async function outage(pair, outageS) {
  const port = pair.mock.port;
  const tKill = now();
  pair.mock.child.kill("SIGKILL");
  const detC = pair.watch.events.waitFor("disconnected", tKill, tKill + BOUND);
  const detS = pair.sdk.events.waitFor("disconnected", tKill, tKill + BOUND);
  if (!(await exited(pair.mock.child, 5000))) throw new Error("mock did not die on SIGKILL");
  await sleep(tKill + outageS * 1000 - now());
  pair.mock = await startMock(port);
  const tReady = pair.mock.readyAt;
  const recC = pair.watch.events.waitFor("connected", tKill, tReady + BOUND);
  const recS = pair.sdk.events.waitFor("reconnected", tKill, tReady + BOUND);
  const [dc, ds, rc, rs] = await Promise.all([detC, detS, recC, recS]);
  const polled = pair.sdk.events.first("polled_status", tReady);
  const gaveUp = pair.sdk.events.first("reconnection_failed", tKill);
  const d = (t, from) => (t === null ? null : t - from);
  return {
    outageS,
    comfyctl: { detect: d(dc, tKill), recover: d(rc, tReady) },
    sdk: {
      detect: d(ds, tKill),
      recover: d(rs, tReady),
      polled: d(polled, tReady),
      gaveUp: d(gaveUp, tKill),
    },
  };
}

// ---------------------------------------------------------------- gates

const GATES = {
  comfyctl: {
    label: "comfyctl health --wait 60s",
    cmd: (port) => [COMFYCTL, ["health", "--wait", "60s", "--url", `http://127.0.0.1:${port}`]],
  },
  "wait-on": {
    label: `wait-on ${waitOnVersion} http-get://…/system_stats`,
    cmd: (port) => [WAIT_ON, ["-t", "60000", `http-get://127.0.0.1:${port}/system_stats`]],
  },
  curl: {
    label: "until curl -sf …; do sleep 1; done",
    cmd: (port) => [
      "bash",
      ["-c", `until curl -sf http://127.0.0.1:${port}/system_stats >/dev/null; do sleep 1; done`],
    ],
  },
};

async function gateTrial(name) {
  const port = await freePort();
  const [cmd, argv] = GATES[name].cmd(port);
  const child = track(spawn(cmd, argv, { stdio: ["ignore", "ignore", "ignore"] }));
  const exit = new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve({ t: now(), code, signal }));
    child.once("error", (e) => resolve({ t: now(), code: null, signal: e.message }));
  });
  let mock = null;
  try {
    const delay = 1000 + Math.random() * 2000;
    const early = await Promise.race([exit, sleep(delay).then(() => null)]);
    if (early) throw new Error(`${name} gate exited (code ${early.code}) before the server started`);
    mock = await startMock(port);
    const res = await Promise.race([exit, sleep(BOUND).then(() => null)]);
    if (res === null) return { lag: null, delay };
    if (res.code !== 0) throw new Error(`${name} gate exited with code ${res.code} (signal ${res.signal})`);
    return { lag: res.t - mock.readyAt, delay };
  } finally {
    await stopChild(child, "SIGKILL");
    if (mock) await stopChild(mock.child, "SIGKILL");
  }
}

// ---------------------------------------------------------------- stats

function median(samples) {
  if (samples.length === 0) return undefined;
  const xs = samples.map((x) => (x === null ? Infinity : x)).sort((a, b) => a - b);
  const mid = Math.floor(xs.length / 2);
  const m = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return Number.isFinite(m) ? m : null;
}

function fmtMs(x) {
  if (x === undefined) return "not measured";
  if (x === null) return NEVER;
  if (Math.abs(x) >= 1000) return `${(x / 1000).toFixed(2)} s`;
  return `${x.toFixed(Math.abs(x) < 10 ? 1 : 0)} ms`;
}

function fmtCell(samples) {
  const m = median(samples);
  let s = fmtMs(m);
  const nevers = samples.filter((x) => x === null).length;
  if (m !== null && m !== undefined && nevers > 0) s += ` (${nevers} of ${samples.length} never)`;
  return s;
}

function fmtRatio(peer, base) {
  const p = median(peer);
  const b = median(base);
  if (p === undefined || b === undefined || b === null || b <= 0) return "n/a";
  if (p === null) return "∞ (peer never)";
  const r = p / b;
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2)}×`;
}

// ---------------------------------------------------------------- main

async function main() {
  const errors = [];
  const rows = [];
  const notes = [];
  const samples = [];
  const first = []; // first-outage trial results
  let second = null;
  let idle = null;

  log(`comfyctl ${COMFYCTL}; SDK ${sdkVersion}; wait-on ${waitOnVersion}; node ${process.version}`);

  // 1. Outages: a fresh pair per length; after the first (shortest) one,
  //    the same pair goes through a second 2 s outage.
  for (const [i, outageS] of OUTAGES_S.entries()) {
    let pair = null;
    try {
      pair = await freshPair();
      await sleep(1000); // well inside the SDK's 10 s idle timeout
      log(`outage ${outageS} s: kill, restart after ${outageS} s`);
      const r = await outage(pair, outageS);
      first.push(r);
      log(`  comfyctl detect ${fmtMs(r.comfyctl.detect)}, recover ${fmtMs(r.comfyctl.recover)}; ` +
        `SDK detect ${fmtMs(r.sdk.detect)}, recover ${fmtMs(r.sdk.recover)}`);
      if (i === 0) {
        await sleep(2000);
        const waited = await settle(pair);
        if (waited > 1) log(`  waited ${(waited / 1000).toFixed(1)} s for the SDK's reconnect loop to end`);
        log("second outage (2 s) in the same processes");
        second = await outage(pair, 2);
        log(`  comfyctl detect ${fmtMs(second.comfyctl.detect)}, recover ${fmtMs(second.comfyctl.recover)}; ` +
          `SDK detect ${fmtMs(second.sdk.detect)}, recover ${fmtMs(second.sdk.recover)}`);
        second.sdkReadyState = pair.sdk.api.socket?.client?.readyState ?? null;
      }
    } catch (e) {
      errors.push(`outage ${outageS} s: ${e.message}`);
      log(`ERROR outage ${outageS} s: ${e.message}`);
    } finally {
      await closePair(pair);
    }
  }

  // 2. A client that sat idle before the server died (the usual case for a
  //    long-running monitor): count state changes while the healthy server
  //    was idle, then a 2 s outage.
  {
    let pair = null;
    try {
      pair = await freshPair();
      log(`idle ${IDLE_S} s, then a 2 s outage`);
      const from = pair.connectedAt;
      await sleep(IDLE_S * 1000);
      await settle(pair);
      const to = now();
      idle = {
        comfyctlSpurious: pair.watch.events.count("disconnected", from, to),
        sdkSpurious: pair.sdk.events.count("disconnected", from, to),
        sdkSpuriousAt: pair.sdk.events.first("disconnected", from, to),
        sdkReconnectedAt: pair.sdk.events.first("reconnected", from, to),
        from,
      };
      Object.assign(idle, await outage(pair, 2));
      idle.sdkReadyState = pair.sdk.api.socket?.client?.readyState ?? null;
      log(`  idle disconnects: comfyctl ${idle.comfyctlSpurious}, SDK ${idle.sdkSpurious}; ` +
        `SDK detect ${fmtMs(idle.sdk.detect)}`);
    } catch (e) {
      errors.push(`idle trial: ${e.message}`);
      log(`ERROR idle trial: ${e.message}`);
    } finally {
      await closePair(pair);
    }
  }

  // 3. Readiness-gate lag, alternating: the order rotates every repetition.
  const gateNames = ["comfyctl", "wait-on", ...(haveCurl ? ["curl"] : [])];
  const gate = Object.fromEntries(gateNames.map((n) => [n, []]));
  for (let rep = 0; rep < GATE_REPS; rep++) {
    const order = gateNames.map((_, k) => gateNames[(k + rep) % gateNames.length]);
    for (const name of order) {
      try {
        const r = await gateTrial(name);
        gate[name].push(r.lag);
        log(`gate ${rep + 1}/${GATE_REPS} ${name}: lag ${fmtMs(r.lag)} (server started ${(r.delay / 1000).toFixed(1)} s after the gate)`);
      } catch (e) {
        errors.push(`gate ${name}: ${e.message}`);
        log(`ERROR gate ${name}: ${e.message}`);
      }
    }
  }

  // ------------------------------------------------------------ report
  const pick = (rs, who, what) => rs.map((r) => r[who][what]);
  const row = (measure, base, peer, peerSamples) => {
    const n = Math.max(base.length, peerSamples.length);
    rows.push(`| ${measure} | ${n} | ${fmtCell(base)} | ${peer} | ${fmtCell(peerSamples)} | ${fmtRatio(peerSamples, base)} |`);
  };
  const SDK = `@saintno/comfyui-sdk ${sdkVersion}`;

  row("detection: SIGKILL → noticed, first outage of a fresh client (`watch --json` `disconnected` / SDK `disconnected`)",
    pick(first, "comfyctl", "detect"), SDK, pick(first, "sdk", "detect"));
  for (const r of first) {
    row(`recovery after a ${r.outageS} s outage: readiness line → back (\`connected\` / SDK \`reconnected\`)`,
      [r.comfyctl.recover], SDK, [r.sdk.recover]);
  }
  if (second) {
    row("detection, second outage (2 s) in the same process", [second.comfyctl.detect], SDK, [second.sdk.detect]);
    row("recovery, second outage (2 s) in the same process", [second.comfyctl.recover], SDK, [second.sdk.recover]);
  }
  if (idle && idle.comfyctl) {
    row(`detection after the client sat ${IDLE_S} s on an idle server`, [idle.comfyctl.detect], SDK, [idle.sdk.detect]);
    row(`recovery (2 s outage) after the client sat ${IDLE_S} s idle`, [idle.comfyctl.recover], SDK, [idle.sdk.recover]);
  }
  row("readiness-gate lag: readiness line → gate exits 0", gate.comfyctl, GATES["wait-on"].label, gate["wait-on"]);
  if (haveCurl) row("readiness-gate lag: readiness line → gate exits 0", gate.comfyctl, GATES.curl.label, gate.curl);

  const comfyctlVersion = toolVersion(COMFYCTL, ["--version"]) || "comfyctl";
  const curlVersion = haveCurl ? toolVersion("curl", ["--version"]).split(" ").slice(0, 2).join(" ") : "curl missing";
  const out = [];
  out.push(`### Peers, side by side (${comfyctlVersion} · ${SDK} · wait-on ${waitOnVersion} · Node ${process.version} · ${curlVersion})`);
  out.push("");
  out.push("| measure | n | comfyctl (median) | peer | peer (median) | peer / comfyctl |");
  out.push("|---|---|---|---|---|---|");
  out.push(...rows);
  out.push("");

  // Samples, for anyone checking the medians.
  const list = (xs) => xs.map((x) => (x === null ? "never" : x.toFixed(1))).join(", ");
  samples.push(`- detection, first outage (ms): comfyctl [${list(pick(first, "comfyctl", "detect"))}], SDK [${list(pick(first, "sdk", "detect"))}]`);
  for (const r of first) {
    samples.push(`- ${r.outageS} s outage recovery (ms): comfyctl ${list([r.comfyctl.recover])}, SDK ${list([r.sdk.recover])}` +
      (r.sdk.polled !== null ? `; the SDK's HTTP polling fallback saw the server back at ${r.sdk.polled.toFixed(0)} ms` : ""));
  }
  for (const n of gateNames) samples.push(`- gate lag ${GATES[n].label} (ms): [${list(gate[n])}]`);

  // Observations, from the data of this run.
  const gaveUp = first.filter((r) => r.sdk.gaveUp !== null);
  if (gaveUp.length) {
    notes.push(`- the SDK dispatched \`reconnection_failed\` (gave up) in the ${gaveUp.map((r) => `${r.outageS} s`).join(", ")} outage trial(s).`);
  }
  if (second) {
    notes.push(`- second outage in the same process: comfyctl noticed it in ${fmtMs(second.comfyctl.detect)}; ` +
      `the SDK ${second.sdk.detect === null ? `did not (no \`disconnected\` within ${BOUND_S} s)` : `noticed it in ${fmtMs(second.sdk.detect)}`}` +
      `${second.sdkReadyState !== null ? `, and its WebSocket's readyState afterwards was ${second.sdkReadyState} (3 = CLOSED)` : ""}.`);
  }
  if (idle && idle.comfyctl) {
    notes.push(`- while the healthy server sat idle for ${IDLE_S} s: comfyctl reported ${idle.comfyctlSpurious} disconnect(s); ` +
      `the SDK reported ${idle.sdkSpurious}` +
      (idle.sdkSpuriousAt !== null ? ` (\`disconnected\` ${((idle.sdkSpuriousAt - idle.from) / 1000).toFixed(1)} s after connecting` +
        (idle.sdkReconnectedAt !== null ? `, \`reconnected\` ${((idle.sdkReconnectedAt - idle.sdkSpuriousAt)).toFixed(0)} ms later)` : ")") : "") +
      `; then a real outage: SDK detection ${fmtMs(idle.sdk.detect)}.`);
  }
  if (unhandled) notes.push(`- ${unhandled} unhandled promise rejection(s) came from the SDK during the run (logged on stderr).`);
  notes.push("- outage trials: comfyctl and the SDK watched the same mock and the same outage at the same time; " +
    "gate trials: one gate per server start, order rotated each repetition.");
  notes.push("- comfyctl `connected` needs HTTP + WebSocket + the first `status` message; the SDK's `reconnected` fires when its WebSocket opens.");

  out.push("Samples:");
  out.push(...samples);
  out.push("");
  out.push("Notes:");
  out.push(...notes);
  if (errors.length) {
    out.push("");
    out.push("Errors:");
    out.push(...errors.map((e) => `- ${e}`));
  }
  process.stdout.write(out.join("\n") + "\n");
  log(`done in ${((now() - T0) / 1000).toFixed(0)} s${errors.length ? ` with ${errors.length} error(s)` : ""}`);
  return errors.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(`fatal: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  },
);

#!/usr/bin/env node
// A fake Docker Engine API on a unix socket, for the DOCKER_EXEC and discovery tests.
//
// TEST DOUBLE: no Docker engine can run on the build/CI machines (no daemon, no
// privileges for containers), so the agent's Engine API client is tested
// against this server, which speaks the real wire format and runs the exec'd
// command *locally* instead of inside a container. The shapes follow the Docker
// Engine API reference (https://docs.docker.com/engine/api/v1.43/):
//   GET  /_ping                          "OK", headers API-Version, Docker-Experimental, OSType
//   GET  /version, /v{v}/version         {"ApiVersion", "MinAPIVersion", "Version", "Os", ...}
//   POST /v{v}/containers/{id}/exec      ContainerExec: {Cmd, Env, AttachStdout, ...} -> 201 {"Id"}
//                                        404 {"message":"No such container: <id>"}
//                                        409 {"message":"Container <id> is not running"}
//   POST /v{v}/exec/{id}/start           ExecStart, hijacked: "Connection: Upgrade",
//                                        "Upgrade: tcp" -> 101 UPGRADED, then the raw stream
//                                        (non-TTY: 8-byte frame headers [stream,0,0,0,size BE]
//                                        from "Attach to a container" → "Stream format")
//   GET  /v{v}/exec/{id}/json            ExecInspect: {"ID","Running","ExitCode","Pid",...}
//   GET  /v{v}/containers/json           ContainerList (running only): <fixtures>/containers.json
//   GET  /v{v}/containers/{id}/json      ContainerInspect: <fixtures>/inspect/<id>.json, else
//                                        404 {"message":"No such container: <id>"}
//   GET  /v{v}/events?filters=...        SystemEvents: 200 at once, then chunked, never-ending,
//                                        one EventMessage JSON object + "\n" per event, as
//                                        dockerd's json.Encoder writes them; honours the
//                                        filters "type" and "event" (list or {name:true} form)
// (--fixtures DIR: real-shaped Engine API answers, see packages/discovery/tests/fixtures;
// without it the list is empty.) A container listed but without an inspect file is one that
// went away between list and inspect.
//
// Test-only admin routes on the same socket (no Docker engine has them; they are how a test
// plays "someone ran docker start/stop on the host"):
//   POST /_fake/events {"Action":"start"|"die"|"destroy"|..., "id":ID[, "Type":"container"]}
//        sends the real-shaped EventMessage (Actor.Attributes image/name/labels from
//        inspect/<ID>.json when it exists) to every /events subscriber whose filters match,
//        and changes the running set: start adds ID, die/destroy remove it. -> {"delivered":n}
//   POST /_fake/running [ID, ...]   the running set (GET /containers/json lists these, in
//        order; entries of containers.json are served as they are, others are built from
//        their inspect file as a ContainerSummary), no event. -> {"running":[...]}
//   POST /_fake/close-event-streams ends every /events stream, as a daemon restart does.
//        -> {"closed":n}
//   GET  /_fake/state -> {"subscribers":n, "event_requests":n, "running":[...]}
// Initially the running set is containers.json (all of it), re-read on every list until a
// test sets it.
// A path version newer than --api-version gets the daemon's 400 "client version X is too new".
//
//   node fake_docker.js --socket PATH --log FILE [--container ID]... [--stopped-container ID]...
//                       [--api-version 1.43] [--ping-version yes|no] [--start-status 101|200]
//                       [--chunked yes|no] [--path DIRS]
//                       [--fixtures DIR]
//
// The command runs with the "image environment" PATH=<--path> (default: this process's PATH)
// overridden by the exec's Env, as a container merges its image's Env with the exec's; nothing
// else of this process's environment reaches it. A command that cannot be started gives
// the runtime's message on stderr and exit code 127 (126 for EACCES), as Docker does.
// Backpressure: the child's pipes are paused while the socket's buffer is full. A client that
// closes the stream early makes the child's next write fail (EPIPE), as with a real daemon,
// which cannot signal an exec either.
//
// --log: one JSON line per created exec, {"id","container","cmd","env"}, so that tests can
// check where secrets went (the fake is a test double: it logs them on purpose).
// Prints {"socket": PATH} once listening (the file exists a moment earlier, from bind());
// exits on SIGTERM/SIGINT.
'use strict';

const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const {makeUsage, fail} = require('./lib/cli');

const usage = makeUsage('fake_docker',
                        'node fake_docker.js --socket PATH --log FILE [--container ID]... ' +
                        '[--stopped-container ID]... [--api-version V] [--ping-version yes|no] ' +
                        '[--start-status 101|200] [--chunked yes|no] [--path DIRS] ' +
                        '[--fixtures DIR]');

const options = {
  socket: null, log: null, containers: new Set(), stopped: new Set(), apiVersion: '1.43',
  pingVersion: true, startStatus: 101, chunked: false, path: process.env.PATH || '/usr/bin:/bin',
  fixtures: null,
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const flag = argv[i];
  const value = argv[i + 1];
  if (value === undefined) usage(`${flag} needs a value`);
  switch (flag) {
    case '--socket': options.socket = value; break;
    case '--log': options.log = value; break;
    case '--container': options.containers.add(value); break;
    case '--stopped-container': options.stopped.add(value); break;
    case '--api-version': options.apiVersion = value; break;
    case '--ping-version': options.pingVersion = value === 'yes'; break;
    case '--start-status': options.startStatus = Number(value); break;
    case '--chunked': options.chunked = value === 'yes'; break;
    case '--path': options.path = value; break;
    case '--fixtures': options.fixtures = value; break;
    default: usage(`unknown option '${flag}'`);
  }
}
if (!options.socket || !options.log) usage('--socket and --log are required');

const execs = new Map();  // id -> {container, cmd, env, running, exitCode, pid, started}
let running = null;        // null: containers.json as it is; else the ids set by a test
const subscribers = new Set();  // {res, types, actions} of open /events streams
let eventRequests = 0;

function versionNumber(text) {
  const [major, minor] = text.split('.').map(Number);
  return major * 1000 + minor;
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Api-Version', options.apiVersion);
  if (options.chunked) {
    // No Content-Length and two writes: Node frames the body as chunked.
    res.writeHead(status);
    const half = Math.floor(text.length / 2);
    res.write(text.slice(0, half));
    res.end(text.slice(half));
  } else {
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.writeHead(status);
    res.end(text);
  }
}

function versionBody() {
  return {Version: '24.0.7-fake', ApiVersion: options.apiVersion, MinAPIVersion: '1.12',
          Os: 'linux', Arch: process.arch, KernelVersion: 'fake', GoVersion: 'none'};
}

// "/v1.43/rest" -> {version: '1.43', rest: '/rest'}; a path without a version gets the default.
function splitVersion(url) {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(url);
  return m ? {version: m[1], rest: m[2]} : {version: null, rest: url};
}

function readFixture(name) {
  return JSON.parse(fs.readFileSync(`${options.fixtures}/${name}`, 'utf8'));
}

function readFixtureIfAny(name) {
  if (!options.fixtures || !fs.existsSync(`${options.fixtures}/${name}`)) return null;
  return readFixture(name);
}

function listedContainers() {
  const all = options.fixtures ? readFixture('containers.json') : [];
  if (running === null) return all;
  return running.map((id) => {
    const entry = all.find((c) => c.Id === id);
    if (entry) return entry;
    const inspect = readFixtureIfAny(`inspect/${id}.json`) || {Id: id, Config: {}};
    // ContainerSummary from ContainerInspectResponse, as `docker ps` shows it.
    return {Id: id, Names: inspect.Name ? [inspect.Name] : [], Image: inspect.Config.Image || '',
            ImageID: inspect.Image || '', Command: (inspect.Config.Cmd || []).join(' '),
            Created: Math.floor(Date.parse(inspect.Created || '2023-11-14T22:13:20Z') / 1000),
            Ports: [], Labels: inspect.Config.Labels || {}, State: 'running', Status: 'Up 1 second',
            HostConfig: {NetworkMode: (inspect.HostConfig || {}).NetworkMode || 'default'},
            NetworkSettings: {Networks: (inspect.NetworkSettings || {}).Networks || {}},
            Mounts: inspect.Mounts || []};
  });
}

// filters={"type":["container"],"event":["start"]} or the older {"type":{"container":true}}.
function filterValues(filters, name) {
  const value = filters[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value : Object.keys(value).filter((k) => value[k]);
}

// An EventMessage as dockerd 24 sends it for a container (Engine API 1.43 "Monitor events").
function eventMessage(type, action, id) {
  const inspect = readFixtureIfAny(`inspect/${id}.json`);
  const image = inspect ? inspect.Config.Image : '';
  const attributes = Object.assign({}, inspect ? inspect.Config.Labels || {} : {},
                                   {image, name: inspect ? inspect.Name.replace(/^\//, '') : id});
  if (action === 'die') attributes.exitCode = '0';
  const nanos = BigInt(Date.now()) * 1000000n;
  return {status: action, id, from: image, Type: type, Action: action,
          Actor: {ID: id, Attributes: attributes}, scope: 'local',
          time: Number(nanos / 1000000000n), timeNano: Number(nanos)};
}

function subscribe(req, res) {
  const query = new URL(req.url, 'http://docker').searchParams;
  let filters = {};
  try {
    filters = JSON.parse(query.get('filters') || '{}');
  } catch (e) {
    sendJson(res, 400, {message: `invalid filter '${query.get('filters')}'`});
    return;
  }
  eventRequests += 1;
  const subscriber = {res, types: filterValues(filters, 'type'), actions: filterValues(filters, 'event')};
  res.writeHead(200, {'Content-Type': 'application/json', 'Api-Version': options.apiVersion,
                      'Docker-Experimental': 'false', 'Ostype': 'linux',
                      'Server': 'Docker/24.0.7-fake (linux)'});
  res.flushHeaders();
  subscribers.add(subscriber);
  const forget = () => subscribers.delete(subscriber);
  req.on('close', forget);
  res.on('close', forget);
}

// Admin answers always carry a Content-Length (never --chunked): the test's client is simple.
function sendAdmin(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {'Content-Type': 'application/json',
                         'Content-Length': Buffer.byteLength(text)});
  res.end(text);
}

async function admin(req, res, url) {
  if (req.method === 'GET' && url === '/_fake/state') {
    sendAdmin(res, 200, {subscribers: subscribers.size, event_requests: eventRequests,
                        running: listedContainers().map((c) => c.Id)});
  } else if (req.method === 'POST' && url === '/_fake/running') {
    running = JSON.parse(await readBody(req));
    sendAdmin(res, 200, {running});
  } else if (req.method === 'POST' && url === '/_fake/events') {
    const body = JSON.parse(await readBody(req));
    const type = body.Type || 'container';
    const message = eventMessage(type, body.Action, body.id);
    if (type === 'container') {
      const ids = listedContainers().map((c) => c.Id);
      if (body.Action === 'start' && !ids.includes(body.id)) running = ids.concat([body.id]);
      if (body.Action === 'die' || body.Action === 'destroy') {
        running = ids.filter((id) => id !== body.id);
      }
    }
    let delivered = 0;
    for (const s of subscribers) {
      if (s.types && !s.types.includes(type)) continue;
      if (s.actions && !s.actions.includes(body.Action)) continue;
      s.res.write(JSON.stringify(message) + '\n');
      delivered += 1;
    }
    sendAdmin(res, 200, {delivered});
  } else if (req.method === 'POST' && url === '/_fake/close-event-streams') {
    const closed = subscribers.size;
    for (const s of subscribers) s.res.socket.destroy();
    subscribers.clear();
    sendAdmin(res, 200, {closed});
  } else {
    sendAdmin(res, 404, {message: 'page not found'});
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req, res) {
  const url = req.url.split('?')[0];
  if (req.method === 'GET' && url === '/_ping') {
    const headers = {'Content-Type': 'text/plain; charset=utf-8', 'Docker-Experimental': 'false',
                     'OSType': 'linux', 'Cache-Control': 'no-cache, no-store, must-revalidate',
                     'Content-Length': 2};
    if (options.pingVersion) headers['API-Version'] = options.apiVersion;
    res.writeHead(200, headers);
    res.end('OK');
    return;
  }
  if (url.startsWith('/_fake/')) {
    await admin(req, res, url);
    return;
  }
  const {version, rest} = splitVersion(url);
  if (version && versionNumber(version) > versionNumber(options.apiVersion)) {
    sendJson(res, 400, {message: `client version ${version} is too new. Maximum supported API ` +
                                 `version is ${options.apiVersion}`});
    return;
  }
  let m;
  if (req.method === 'GET' && rest === '/version') {
    sendJson(res, 200, versionBody());
  } else if (req.method === 'GET' && rest === '/containers/json') {
    sendJson(res, 200, listedContainers());
  } else if (req.method === 'GET' && rest === '/events') {
    subscribe(req, res);
  } else if (req.method === 'GET' && (m = /^\/containers\/([^/]+)\/json$/.exec(rest))) {
    const id = decodeURIComponent(m[1]);
    const file = `inspect/${id}.json`;
    if (!options.fixtures || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(id) ||
        !fs.existsSync(`${options.fixtures}/${file}`)) {
      sendJson(res, 404, {message: `No such container: ${id}`});
      return;
    }
    sendJson(res, 200, readFixture(file));
  } else if (req.method === 'POST' && (m = /^\/containers\/([^/]+)\/exec$/.exec(rest))) {
    const container = decodeURIComponent(m[1]);
    const body = JSON.parse(await readBody(req) || '{}');
    if (options.stopped.has(container)) {
      sendJson(res, 409, {message: `Container ${container} is not running`});
      return;
    }
    if (!options.containers.has(container)) {
      sendJson(res, 404, {message: `No such container: ${container}`});
      return;
    }
    if (!Array.isArray(body.Cmd) || body.Cmd.length === 0) {
      sendJson(res, 400, {message: 'No exec command specified'});
      return;
    }
    const id = crypto.randomBytes(32).toString('hex');
    const env = Array.isArray(body.Env) ? body.Env : [];
    execs.set(id, {container, cmd: body.Cmd, env, running: false, exitCode: null, pid: 0,
                   started: false, tty: !!body.Tty});
    fs.appendFileSync(options.log, JSON.stringify({id, container, cmd: body.Cmd, env}) + '\n');
    sendJson(res, 201, {Id: id});
  } else if (req.method === 'GET' && (m = /^\/exec\/([^/]+)\/json$/.exec(rest))) {
    const exec = execs.get(m[1]);
    if (!exec) {
      sendJson(res, 404, {message: `No such exec instance: ${m[1]}`});
      return;
    }
    sendJson(res, 200, {ID: m[1], Running: exec.running, ExitCode: exec.exitCode, Pid: exec.pid,
                        ContainerID: exec.container, OpenStdout: true, OpenStderr: true,
                        ProcessConfig: {entrypoint: exec.cmd[0], arguments: exec.cmd.slice(1),
                                        tty: exec.tty}});
  } else if (req.method === 'POST' && /^\/exec\/([^/]+)\/start$/.test(rest)) {
    sendJson(res, 400, {message: 'exec start must be hijacked (Connection: Upgrade)'});
  } else {
    sendJson(res, 404, {message: 'page not found'});
  }
}

function frame(stream, payload) {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

// The hijacked ExecStart: the rest of the connection is the raw stream.
function startExec(req, socket) {
  socket.on('error', () => {});
  const {version, rest} = splitVersion(req.url.split('?')[0]);
  const m = /^\/exec\/([^/]+)\/start$/.exec(rest);
  const exec = m && execs.get(m[1]);
  const refuse = (status, reason, message) => {
    const text = JSON.stringify({message});
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
               `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
  };
  if (!m || (version && versionNumber(version) > versionNumber(options.apiVersion))) {
    refuse(404, 'Not Found', 'page not found');
    return;
  }
  if (!exec) {
    refuse(404, 'Not Found', `No such exec instance: ${m[1]}`);
    return;
  }
  if (exec.started) {
    refuse(409, 'Conflict', `Error: Exec command ${m[1]} has already run`);
    return;
  }
  exec.started = true;
  exec.running = true;
  // The request body ({"Detach":false,"Tty":false}) arrives on the socket; nothing in it matters.
  socket.on('data', () => {});
  if (options.startStatus === 101) {
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n' +
                 'Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  } else {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n');
  }

  const env = {PATH: options.path};
  for (const entry of exec.env) {
    const at = entry.indexOf('=');
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  const finish = (code) => {
    exec.running = false;
    exec.exitCode = code;
    socket.end();
  };
  const program = resolve(exec.cmd[0], env.PATH);
  let child;
  try {
    child = childProcess.spawn(program, exec.cmd.slice(1), {env, stdio: ['ignore', 'pipe', 'pipe'],
                                                           argv0: exec.cmd[0]});
  } catch (e) {
    socket.write(frame(2, Buffer.from(runtimeError(exec.cmd[0], e))));
    finish(e.code === 'EACCES' ? 126 : 127);
    return;
  }
  child.on('error', (e) => {
    socket.write(frame(2, Buffer.from(runtimeError(exec.cmd[0], e))));
    finish(e.code === 'EACCES' ? 126 : 127);
  });
  exec.pid = child.pid || 0;
  let closed = false;
  socket.on('close', () => {
    closed = true;
    // The client went away: the process's next write fails, as in a real container.
    child.stdout.destroy();
    child.stderr.destroy();
  });
  const pump = (stream, number) => {
    stream.on('data', (chunk) => {
      if (closed) return;
      if (!socket.write(frame(number, chunk))) {
        child.stdout.pause();
        child.stderr.pause();
        socket.once('drain', () => {
          child.stdout.resume();
          child.stderr.resume();
        });
      }
    });
  };
  pump(child.stdout, 1);
  pump(child.stderr, 2);
  child.on('close', (code, signal) => {
    if (exec.exitCode === null && exec.running) finish(code !== null ? code : 128 + signalNumber(signal));
  });
}

function signalNumber(signal) {
  return (require('os').constants.signals[signal]) || 0;
}

// Docker looks the program up in the container's PATH; so do we (in the "image" PATH).
function resolve(program, pathList) {
  if (program.includes('/')) return program;
  for (const dir of (pathList || '').split(':')) {
    if (!dir) continue;
    const candidate = `${dir}/${program}`;
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch (e) { /* next */ }
  }
  return program;  // spawn fails with ENOENT
}

function runtimeError(program, e) {
  const what = e.code === 'ENOENT' ? 'executable file not found in $PATH' : e.message;
  return 'OCI runtime exec failed: exec failed: unable to start container process: exec: ' +
         `${JSON.stringify(program)}: ${what}: unknown\r\n`;
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => sendJson(res, 500, {message: String(e && e.message)}));
});
server.on('upgrade', startExec);
try { fs.unlinkSync(options.socket); } catch (e) { /* not there */ }
server.on('error', (e) => fail('fake_docker', e));
server.listen(options.socket, () => {
  process.stdout.write(JSON.stringify({socket: options.socket}) + '\n');
});
const stop = () => {
  server.close();
  try { fs.unlinkSync(options.socket); } catch (e) { /* gone */ }
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

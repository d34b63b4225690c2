#!/usr/bin/env node
// A fake mongosh for the MongoDB driver's DOCKER_EXEC probe test.
//
// Why it exists: no MongoDB server or shell can be installed here (see fake_mongod.js), and
// the DOCKER_EXEC probe runs `mongosh --quiet --norc --nodb --eval <program>` inside the
// target's container. This stand-in (run by the fake Docker Engine, fake_docker.js) records
// its argv and environment (mongosh.report.json beside itself; "violations" lists a password
// in argv or an agent variable in the environment), then runs the --eval program in a Node
// vm context with the little of mongosh's API it uses — `process.env`, `print`,
// `new Mongo(uri)`, `getDB(name)`, `db.auth(user, pwd)`, `db.runCommand({buildInfo |
// listDatabases | dbStats})` — answered from mongosh.plan.json beside itself:
//   {"user": "u", "password": "p", "auth_db": "admin", "version": "7.0.5",
//    "databases": {"app": 123456}, "unreachable": false}
// An error is printed the way mongosh prints one ("MongoServerError: Authentication
// failed.", "MongoServerSelectionError: connect ECONNREFUSED 127.0.0.1:27017") on stderr,
// exit code 1. So the driver's program, its environment handling and the parsing of its
// output are exercised, though not against a real mongosh.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

const here = path.dirname(process.argv[1]);
const plan = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.join(here, 'mongosh.plan.json'), 'utf8'));
  } catch (e) {
    return {};
  }
})();
const argv = process.argv.slice(2);
const violations = [];
for (const name of Object.keys(process.env)) {
  if (name.startsWith('BACKUPY_')) violations.push(`agent variable ${name} in the environment`);
}
const secret = process.env.PROBE_PASSWORD;
if (secret && argv.some((a) => a.includes(secret))) violations.push('the password is in argv');
fs.writeFileSync(path.join(here, 'mongosh.report.json'),
                 JSON.stringify({argv, env: {...process.env}, violations}, null, 1));

const databases = plan.databases || {};

class Mongo {
  constructor(uri) {
    if (plan.unreachable) {
      throw new Error('MongoServerSelectionError: connect ECONNREFUSED 127.0.0.1:27017');
    }
    this.uri = String(uri);
    // Credentials in the URI authenticate at connect time.
    const m = /^mongodb(?:\+srv)?:\/\/([^@/]*)@/.exec(this.uri);
    this.authenticated = !plan.user;
    if (m) {
      const [user, password] = m[1].split(':').map(decodeURIComponent);
      if (user !== plan.user || password !== plan.password) {
        throw new Error('MongoServerError: Authentication failed.');
      }
      this.authenticated = true;
    }
  }
  getDB(name) {
    const mongo = this;
    return {
      auth(user, password) {
        if (name !== (plan.auth_db || 'admin') || user !== plan.user ||
            password !== plan.password) {
          throw new Error('MongoServerError: Authentication failed.');
        }
        mongo.authenticated = true;
        return {ok: 1};
      },
      runCommand(command) {
        if (command.buildInfo) return {version: plan.version || '7.0.5', ok: 1};
        if (!mongo.authenticated) {
          return {ok: 0, errmsg: `command requires authentication`, code: 13};
        }
        if (command.listDatabases) {
          return {databases: Object.keys(databases).map((n) => ({name: n})), ok: 1};
        }
        if (command.dbStats) return {db: name, dataSize: databases[name] || 0, ok: 1};
        return {ok: 0, errmsg: 'no such command', code: 59};
      },
    };
  }
}

const at = argv.indexOf('--eval');
if (at < 0 || at + 1 >= argv.length) {
  process.stderr.write('fake mongosh: no --eval program\n');
  process.exit(2);
}
try {
  vm.runInNewContext(argv[at + 1], {
    process: {env: {...process.env}},
    print: (...args) => process.stdout.write(args.join(' ') + '\n'),
    Mongo,
  });
} catch (e) {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
}

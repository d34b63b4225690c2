// Command-line plumbing shared by the Node test tools (s3rver_main.js, fault_proxy.js).
'use strict';

// Returns usage(message): writes "NAME: message" and the usage line to stderr, then exits with
// exitCode.
function makeUsage(name, usageLine, exitCode = 2) {
  return (message) => {
    process.stderr.write(`${name}: ${message}\nusage: ${usageLine}\n`);
    process.exit(exitCode);
  };
}

// Walks "--flag value" pairs. onFlag(flag, value) returns false for a flag it does not know.
// Also understands --address ADDR and --port N (0..65535), stored in options.
function parseFlags(argv, options, onFlag, usage) {
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(`${flag} needs a value`);
    switch (flag) {
      case '--address': options.address = value; break;
      case '--port':
        options.port = Number(value);
        if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
          usage(`bad port '${value}'`);
        }
        break;
      default:
        if (!onFlag(flag, value)) usage(`unknown option '${flag}'`);
    }
  }
  return options;
}

// Writes "NAME: message" to stderr and exits 1.
function fail(name, e) {
  process.stderr.write(`${name}: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
}

module.exports = {makeUsage, parseFlags, fail};

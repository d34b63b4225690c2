// backupy-control-plane: serve, hash-key, version, and the operator subcommands (agents,
// runs list, run, download, token; src/, one file each). Server logic lives in
// backupy::controlplane; this file only dispatches.
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "backupy/controlplane/agent_registry.hpp"
#include "backupy/controlplane/dev_tls.hpp"
#include "backupy/controlplane/server.hpp"
#include "backupy/controlplane/server_config.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/time.hpp"
#include "src/commands.hpp"

namespace {

namespace cp = backupy::controlplane;
namespace core = backupy::core;

constexpr int kExitUsage = 2;

constexpr std::string_view kUsage =
    "usage:\n"
    "  backupy-control-plane serve --config FILE [--dev] [--log-level LEVEL]\n"
    "      Serve agents over WSS as configured in the YAML FILE. SIGHUP reloads FILE,\n"
    "      SIGTERM/SIGINT stop gracefully. LEVEL: trace|debug|info|warn|error (default info).\n"
    "      --dev (for trying it out, not for production): no tls: section; a throwaway CA\n"
    "      and server certificate are generated in dev-tls/ beside FILE (reused later) and\n"
    "      the CA file agents must trust is printed.\n"
    "  backupy-control-plane hash-key\n"
    "      Read an agent key or an admin token from standard input (one line) and print\n"
    "      its sha256 hex, the value for agents[].key_sha256 or admin.token_sha256.\n"
    "      Keys and tokens are never taken from arguments.\n"
    "  backupy-control-plane version\n"
    "  backupy-control-plane --help\n"
    "\n"
    "Operator commands (the operator API over HTTPS, for operators without curl):\n"
    "  backupy-control-plane agents\n"
    "      Every configured agent: state, last heartbeat, config versions, metrics.\n"
    "  backupy-control-plane runs list [--agent A] [--job J] [--status S] [--limit N]\n"
    "      Runs, newest first (N: 1-1000, default 50; S: queued|running|success|failed|\n"
    "      cancelled).\n"
    "  backupy-control-plane run JOB [--allow-concurrent] [--wait [--timeout SEC]]\n"
    "      Start a run of JOB and print its id (stderr says whether the agent got it or\n"
    "      the run waits for the agent to connect); --allow-concurrent starts it even if\n"
    "      the job has an unfinished run; --wait polls until it ends and exits 0 only if\n"
    "      it succeeded, 1 when SEC (default 3600) pass first.\n"
    "  backupy-control-plane download RUN --out FILE\n"
    "      Fetch the run's encrypted object into FILE (temp file + rename) and check its\n"
    "      size and sha256 against what the agent reported.\n"
    "  backupy-control-plane token RUN\n"
    "      Print the run's decryption token (a JWT for backupy-decrypt --token-file).\n"
    "  Common options: --url https://HOST:PORT (default $BACKUPY_CP_URL, else\n"
    "  https://127.0.0.1:8443), --ca FILE (CA to trust; default $BACKUPY_CP_CA).\n"
    "  The admin token comes from $BACKUPY_ADMIN_TOKEN or --token-file FILE, never from an\n"
    "  argument: command lines are visible to every user (ps, /proc).\n"
    "  Exit codes: 0 done, 1 failed (message on stderr), 2 usage error.\n";

int usage_error(std::string_view problem) {
  std::cerr << "backupy-control-plane: " << problem << "\n" << kUsage;
  return kExitUsage;
}

bool is_contract_key(std::string_view key) {
  auto all = [](std::string_view text, auto pred) {
    for (char c : text) {
      if (!pred(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  if (key.size() == 64) {
    return all(key,
               [](unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  }
  for (std::string_view prefix : {"bkpy_live_", "bkpy_test_"}) {
    if (key.size() == prefix.size() + 32 && key.starts_with(prefix)) {
      return all(key.substr(prefix.size()), [](unsigned char c) { return std::isalnum(c) != 0; });
    }
  }
  return false;
}

int hash_key() {
  std::string line;
  std::getline(std::cin, line);
  const std::string_view blanks = " \t\r\n";
  const std::size_t first = line.find_first_not_of(blanks);
  if (first == std::string::npos) {
    std::cerr << "backupy-control-plane: no agent key on standard input\n";
    return 1;
  }
  const std::string key = line.substr(first, line.find_last_not_of(blanks) - first + 1);
  if (!is_contract_key(key)) {
    // Admin tokens may have any form; only agent keys follow the contract's format.
    std::cerr << "backupy-control-plane: note: not an agent key (neither 64 lowercase hex "
                 "characters nor bkpy_live_/bkpy_test_ followed by 32 letters or digits); fine "
                 "for an admin token\n";
  }
  std::cout << cp::hash_agent_key(key) << "\n";
  return 0;
}

// serve --dev: the generated certificate serves, and the operator learns which CA to trust
// (stdout, so it shows up in a terminal whatever the log level, and the log).
void use_dev_tls(cp::ServerConfig& config, cp::ServerOptions& options, const core::Logger& log) {
  std::filesystem::path dir = options.config_file.parent_path();
  if (dir.empty()) dir = ".";
  const cp::DevTls dev = cp::ensure_dev_tls(dir / "dev-tls", config.listen_host);
  config.tls = dev.tls;
  options.dev_tls = dev.tls;
  const std::string notice = cp::dev_tls_notice(dev);
  std::cout << notice << std::endl;
  log.info("dev_tls", {{"event", "dev_tls"},
                       {"ca_file", dev.ca_file.string()},
                       {"cert_file", dev.tls.cert_file.string()},
                       {"generated", dev.generated},
                       {"reason", dev.reason},
                       {"not_after", core::iso8601_utc(static_cast<std::uint64_t>(
                                         std::chrono::duration_cast<std::chrono::milliseconds>(
                                             dev.not_after.time_since_epoch())
                                             .count()))}});
}

int serve(const std::vector<std::string_view>& args) {
  std::string config_file;
  core::LogLevel level = core::LogLevel::info;
  bool dev = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::string_view value;
    std::string_view name = arg;
    if (const std::size_t eq = arg.find('='); arg.starts_with("--") && eq != arg.npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (arg == "--config" || arg == "--log-level") {
      if (i + 1 >= args.size()) return usage_error(std::string(arg) + " needs a value");
      value = args[++i];
    }
    if (arg == "--dev") {
      dev = true;
    } else if (name == "--config") {
      config_file = value;
    } else if (name == "--log-level") {
      const auto parsed = core::parse_log_level(value);
      if (!parsed) return usage_error("invalid --log-level \"" + std::string(value) + "\"");
      level = *parsed;
    } else {
      return usage_error("unknown argument \"" + std::string(arg) + "\"");
    }
  }
  if (config_file.empty()) return usage_error("serve needs --config FILE");

  core::configure_logging({level, {}});
  const core::Logger log("control-plane");
  try {
    cp::ServerConfig config =
        cp::load_server_config(config_file, dev ? cp::TlsSource::dev : cp::TlsSource::yaml);
    cp::ServerOptions options;
    options.config_file = config_file;
    if (dev) use_dev_tls(config, options, log);
    cp::Server server(std::move(config), options);
    server.run();
  } catch (const std::exception& e) {
    log.error("startup_failed", {{"event", "startup_failed"}, {"error", e.what()}});
    std::cerr << "backupy-control-plane: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

// Runs an operator subcommand; false if command is none of them.
bool operator_command(std::string_view command, std::vector<std::string_view> args, int& code) {
  namespace cli = backupy::cpcli;
  using Command = int (*)(const cli::Args&, const cli::Env&);
  Command run = nullptr;
  if (command == "agents") {
    run = cli::agents_command;
  } else if (command == "run") {
    run = cli::run_command;
  } else if (command == "download") {
    run = cli::download_command;
  } else if (command == "token") {
    run = cli::token_command;
  } else if (command == "runs") {
    if (args.empty() || args.front() != "list") {
      code = usage_error("runs needs a subcommand: runs list");
      return true;
    }
    args.erase(args.begin());
    run = cli::runs_list_command;
  } else {
    return false;
  }
  try {
    code = run(args, cli::process_env);
  } catch (const cli::UsageError& e) {
    code = usage_error(e.what());
  } catch (const std::exception& e) {
    std::cerr << "backupy-control-plane: " << e.what() << "\n";
    code = 1;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("missing command");
  const std::string_view command = args.front();
  args.erase(args.begin());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "serve") return serve(args);
  if (int code = 0; operator_command(command, args, code)) return code;
  if (!args.empty()) return usage_error(std::string(command) + " takes no arguments");
  if (command == "hash-key") return hash_key();
  if (command == "version" || command == "--version") {
    std::cout << "backupy-control-plane " << cp::version() << "\n";
    return 0;
  }
  return usage_error("unknown command \"" + std::string(command) + "\"");
}

#include "backupy/test_support/db_servers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace backupy::test_support {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kSetupHint = "run scripts/setup.sh (it installs the database servers)";
constexpr const char* kRunuser = "/usr/sbin/runuser";

std::string random_password() {
  std::random_device device;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "pw";
  for (int i = 0; i < 24; ++i) out += kDigits[device() & 0xfu];
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// The last `lines` lines of a log file, for error messages.
std::string log_tail(const fs::path& path, std::size_t lines = 25) {
  std::istringstream in(read_text(path));
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& line : tail) out += "\n  | " + line;
  return out.empty() ? " (empty)" : out;
}

void require_executable(const fs::path& path) {
  if (::access(path.c_str(), X_OK) != 0) {
    throw std::runtime_error(path.string() + " not found: " + kSetupHint);
  }
}

// Writes a file only its owner can read (created 0600 before any content is written).
void write_private_file(const fs::path& path, const std::string& content) {
  fs::remove(path);
  { std::ofstream touch(path); }
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  std::ofstream out(path, std::ios::trunc);
  out << content;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

void chown_to(const fs::path& path, const char* user) {
  const passwd* entry = ::getpwnam(user);
  if (entry == nullptr) {
    throw std::runtime_error(std::string("system user '") + user +
                             "' does not exist: " + kSetupHint);
  }
  if (::chown(path.c_str(), entry->pw_uid, entry->pw_gid) != 0) {
    throw std::runtime_error("cannot chown " + path.string() + " to " + user);
  }
}

bool tcp_accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

constexpr const char* kPortTaken = "Address already in use";

// Waits until the server's log contains ready_line and its TCP port accepts connections; false
// with error (incl. the log's tail) if the server exits or the timeout passes (then it is killed).
bool wait_ready(Process& process, const fs::path& log, const std::string& ready_line, int port,
                milliseconds timeout, std::string& error, const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (read_text(log).find(ready_line) != std::string::npos && tcp_accepts(port)) {
      return true;
    }
    const bool exited = !process.running();
    if (exited || std::chrono::steady_clock::now() >= deadline) {
      error = what +
              (exited ? " exited during startup"
                      : " did not accept connections on 127.0.0.1:" + std::to_string(port) +
                            " within " + std::to_string(timeout.count()) + " ms") +
              "; log " + log.string() + " ends with:" + log_tail(log);
      if (!exited) process.kill_and_wait();
      return false;
    }
    std::this_thread::sleep_for(milliseconds(25));
  }
}

// Runs a command, recording its argv; throws with its output if it fails.
CommandResult run_checked(std::vector<std::vector<std::string>>& commands,
                          std::vector<std::string> argv, std::map<std::string, std::string> env,
                          const std::string& what, milliseconds timeout = seconds(60)) {
  commands.push_back(argv);
  CommandResult result = run_command(std::move(argv), std::move(env), timeout);
  if (result.exit_code != 0) {
    throw std::runtime_error(what + " failed (exit " + std::to_string(result.exit_code) +
                             (result.exit_code == -1 ? ", timed out" : "") + "): " + result.err +
                             result.out);
  }
  return result;
}

// Signals pid, waits up to grace for the Process to exit, then SIGKILLs both.
void stop_server(Process& process, pid_t pid, int signo, milliseconds grace) {
  if (!process.running()) return;
  ::kill(pid > 0 ? pid : process.pid(), signo);
  if (process.wait(grace)) return;
  if (pid > 0) ::kill(pid, SIGKILL);
  ::kill(-process.pid(), SIGKILL);  // Process puts the child in its own process group
  process.kill_and_wait();
}

pid_t read_pid_file(const fs::path& path) {
  std::ifstream in(path);
  long pid = 0;
  return (in >> pid) && pid > 0 ? static_cast<pid_t>(pid) : 0;
}

// start() picks a free port and starts the server; if another process took the port in between
// (the server's log says so), it is tried once more with a new port.
template <typename StartFn>
void start_with_retry(StartFn start) {
  std::string error;
  if (start(error)) return;
  if (error.find(kPortTaken) != std::string::npos) {
    error.clear();
    if (start(error)) return;
  }
  throw std::runtime_error(error);
}

}  // namespace

int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("pick_free_port: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("pick_free_port: bind to 127.0.0.1:0 failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ------------------------------------------------------------ PostgresServer --

fs::path PostgresServer::bin_dir() {
  return "/usr/lib/postgresql/15/bin";
}

PostgresServer::PostgresServer() : dir_("backupy-pg"), password_(random_password()) {
  require_executable(bin_dir() / "initdb");
  require_executable(kRunuser);
  // initdb and postgres refuse to run as root: the postgres user owns everything here.
  chown_to(dir_.path(), "postgres");
  fs::create_directory(socket_dir());
  chown_to(socket_dir(), "postgres");
  const fs::path pwfile = dir_.path() / "pwfile";
  write_private_file(pwfile, password_ + "\n");
  chown_to(pwfile, "postgres");
  try {
    run_checked(
        commands_,
        {kRunuser, "-u", "postgres", "--", (bin_dir() / "initdb").string(), "-D",
         data_dir().string(), "-U", user_, "--pwfile=" + pwfile.string(), "--auth=scram-sha-256",
         "--no-sync", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"},
        {}, "initdb in " + data_dir().string());
  } catch (...) {
    fs::remove(pwfile);
    throw;
  }
  fs::remove(pwfile);
  // Durability is not under test: skip fsyncs. initdb's pg_hba.conf already says
  // scram-sha-256 for local, host and replication connections.
  std::ofstream conf(data_dir() / "postgresql.conf", std::ios::app);
  conf << "\n# backupy test fixture\n"
       << "listen_addresses = '127.0.0.1'\n"
       << "unix_socket_directories = '" << socket_dir().string() << "'\n"
       << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";
  conf.close();
  start_with_retry([this](std::string& error) { return start(error); });
  psql("CREATE DATABASE " + database_, "postgres");
}

bool PostgresServer::start(std::string& error) {
  port_ = pick_free_port();
  const fs::path log = dir_.path() / "postgres.log";
  std::vector<std::string> argv{kRunuser,
                                "-u",
                                "postgres",
                                "--",
                                (bin_dir() / "postgres").string(),
                                "-D",
                                data_dir().string(),
                                "-p",
                                std::to_string(port_)};
  commands_.push_back(argv);
  process_ =
      std::make_unique<Process>(std::move(argv), std::map<std::string, std::string>{}, log, log);
  return wait_ready(*process_, log, "database system is ready to accept connections", port_,
                    seconds(30), error, "postgres");
}

PostgresServer::~PostgresServer() {
  // Signal the postmaster itself: runuser would answer any signal with SIGTERM + SIGKILL 2 s
  // later. SIGINT is PostgreSQL's fast shutdown (SIGTERM waits for every session to end).
  if (process_) stop_server(*process_, pid(), SIGINT, seconds(5));
}

pid_t PostgresServer::pid() const {
  return read_pid_file(data_dir() / "postmaster.pid");
}

std::string PostgresServer::psql(const std::string& sql, const std::string& db) const {
  return run_checked(commands_,
                     {(bin_dir() / "psql").string(), "-X", "-q", "-A", "-t", "-v",
                      "ON_ERROR_STOP=1", "-h", host(), "-p", std::to_string(port_), "-U", user_,
                      "-d", db.empty() ? database_ : db, "-c", sql},
                     {{"PGPASSWORD", password_}, {"PGCONNECT_TIMEOUT", "10"}}, "psql")
      .out;
}

// ------------------------------------------------------------- MariaDbServer --

MariaDbServer::MariaDbServer() : dir_("backupy-mariadb"), password_(random_password()) {
  require_executable("/usr/bin/mariadb-install-db");
  require_executable("/usr/sbin/mariadbd");
  // mariadbd runs as mysql: it must reach the data directory and create its socket here.
  chown_to(dir_.path(), "mysql");
  run_checked(commands_,
              {"/usr/bin/mariadb-install-db", "--no-defaults", "--user=mysql",
               "--datadir=" + data_dir().string(), "--skip-test-db", "--skip-name-resolve",
               "--auth-root-authentication-method=socket"},
              {}, "mariadb-install-db in " + data_dir().string());
  start_with_retry([this](std::string& error) { return start(error); });
  // The account, as root over the socket (unix_socket auth: we are root); the statements come
  // from a 0600 file so the password stays out of argv.
  const fs::path setup = dir_.path() / "setup.sql";
  std::string statements;
  for (const char* host : {"%", "localhost"}) {
    const std::string account = "'" + user_ + "'@'" + host + "'";
    statements += "CREATE USER " + account + " IDENTIFIED BY '" + password_ + "';\n";
    statements += "GRANT ALL PRIVILEGES ON *.* TO " + account + " WITH GRANT OPTION;\n";
  }
  statements += "CREATE DATABASE `" + database_ + "`;\n";
  write_private_file(setup, statements);
  try {
    run_checked(commands_,
                {"/usr/bin/mariadb", "--no-defaults", "--socket=" + socket_path().string(),
                 "--user=root", "--batch", "-e", "source " + setup.string()},
                {}, "mariadb account setup");
  } catch (...) {
    fs::remove(setup);
    throw;
  }
  fs::remove(setup);
}

bool MariaDbServer::start(std::string& error) {
  port_ = pick_free_port();
  write_private_file(client_options_file(), "[client]\nuser=" + user_ + "\npassword=" + password_ +
                                                "\nhost=127.0.0.1\nport=" + std::to_string(port_) +
                                                "\nprotocol=tcp\n\n[mysql]\ndatabase=" + database_ +
                                                "\n");
  const fs::path log = dir_.path() / "mariadbd.log";
  std::vector<std::string> argv{"/usr/sbin/mariadbd",
                                "--no-defaults",
                                "--user=mysql",
                                "--datadir=" + data_dir().string(),
                                "--port=" + std::to_string(port_),
                                "--bind-address=127.0.0.1",
                                "--socket=" + socket_path().string(),
                                "--pid-file=" + (dir_.path() / "mariadbd.pid").string(),
                                "--skip-name-resolve",
                                "--innodb-buffer-pool-size=64M",
                                "--innodb-flush-log-at-trx-commit=2"};
  commands_.push_back(argv);
  process_ =
      std::make_unique<Process>(std::move(argv), std::map<std::string, std::string>{}, log, log);
  return wait_ready(*process_, log, "ready for connections", port_, seconds(30), error, "mariadbd");
}

MariaDbServer::~MariaDbServer() {
  if (process_) stop_server(*process_, process_->pid(), SIGTERM, seconds(10));
}

pid_t MariaDbServer::pid() const {
  return process_ ? process_->pid() : 0;
}

std::string MariaDbServer::sql(const std::string& statement) const {
  return run_checked(commands_,
                     {"/usr/bin/mariadb", "--defaults-extra-file=" + client_options_file().string(),
                      "--batch", "--skip-column-names", "-e", statement},
                     {}, "mariadb client")
      .out;
}

// --------------------------------------------------------------- RedisServer --

RedisServer::RedisServer()
    : dir_("backupy-redis"), password_(random_password()), acl_password_(random_password()) {
  require_executable("/usr/bin/redis-server");
  fs::create_directory(data_dir());
  start_with_retry([this](std::string& error) { return start(error); });
}

bool RedisServer::start(std::string& error) {
  port_ = pick_free_port();
  const fs::path config = dir_.path() / "redis.conf";
  write_private_file(config, "port " + std::to_string(port_) +
                                 "\nbind 127.0.0.1\n"
                                 "dir " +
                                 data_dir().string() + "\nunixsocket " + socket_path().string() +
                                 "\nunixsocketperm 700\n"
                                 "requirepass " +
                                 password_ + "\nuser " + acl_user_ + " on >" + acl_password_ +
                                 " ~* &* +@all\n"
                                 "save \"\"\nappendonly no\ndaemonize no\nlogfile \"\"\n");
  const fs::path log = dir_.path() / "redis.log";
  std::vector<std::string> argv{"/usr/bin/redis-server", config.string()};
  commands_.push_back(argv);
  process_ =
      std::make_unique<Process>(std::move(argv), std::map<std::string, std::string>{}, log, log);
  return wait_ready(*process_, log, "Ready to accept connections", port_, seconds(20), error,
                    "redis-server");
}

RedisServer::~RedisServer() {
  if (process_) stop_server(*process_, process_->pid(), SIGTERM, seconds(5));
}

pid_t RedisServer::pid() const {
  return process_ ? process_->pid() : 0;
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"/usr/bin/redis-cli", "-h", host(), "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult result = run_checked(commands_, std::move(argv), {{"REDISCLI_AUTH", password_}},
                                     "redis-cli", seconds(30));
  // redis-cli exits 0 on error replies when its output is not a terminal.
  for (const char* prefix : {"ERR", "WRONGPASS", "NOAUTH", "NOPERM", "WRONGTYPE"}) {
    if (result.out.rfind(prefix, 0) == 0) {
      throw std::runtime_error("redis-cli: error reply: " + result.out);
    }
  }
  return result.out;
}

}  // namespace backupy::test_support

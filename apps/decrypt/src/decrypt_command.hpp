#pragma once
// backupy-decrypt's command: options → key → input → SHA-256 of the stored
// bytes → BlobReader → zstd decompressor (unless --skip-decompress) → output.
// Constant memory: one read buffer, one blob frame, the decompressor's window.
#include <chrono>
#include <ostream>
#include <string>
#include <vector>

namespace backupy::decrypt {

// Everything the command takes from the process, injectable for tests.
struct Environment {
  std::ostream& out;  // --help and --version
  std::ostream& err;  // progress and the error line
  int stdin_fd = 0;
  int stdout_fd = 1;
  bool stderr_is_terminal = false;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

// args excludes the program name. Returns the exit code: 0 success,
// 1 failure (one "backupy-decrypt: ..." line on env.err), 2 wrong usage.
int run(const std::vector<std::string>& args, const Environment& env);

int main_with_args(int argc, char** argv);

}  // namespace backupy::decrypt

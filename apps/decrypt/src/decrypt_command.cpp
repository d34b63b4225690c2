#include "decrypt_command.hpp"

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "backupy/blob/blob_reader.hpp"
#include "backupy/compress/codec.hpp"
#include "backupy/core/build_info.hpp"
#include "backupy/stream/hashing_sink.hpp"
#include "failure.hpp"
#include "fd_sink.hpp"
#include "input.hpp"
#include "key_source.hpp"
#include "options.hpp"
#include "partial_file.hpp"
#include "progress.hpp"

namespace backupy::decrypt {
namespace {

constexpr const char* kProgram = "backupy-decrypt";

void check_distinct_files(const Options& options) {
  if (options.in == "-" || options.out == "-") return;
  std::error_code ec;  // a missing --out is the normal case, not an error
  if (std::filesystem::equivalent(options.in, options.out, ec)) {
    throw Failure("--in and --out name the same file");
  }
}

void decrypt(const Options& options, const Environment& env,
             std::optional<ProgressLine>& progress) {
  const ResolvedKey key = resolve_key(options.key_source, options.key_value, env.now);
  // An explicit --expect-sha256 wins over the token's claim.
  const std::optional<std::string> expected_sha256 =
      options.expect_sha256 ? options.expect_sha256 : key.token_sha256;

  check_distinct_files(options);
  const Input input = open_input(options.in, env.stdin_fd);
  if (options.out == "-" && ::isatty(env.stdout_fd)) {
    throw Failure(
        "refusing to write the backup to a terminal: redirect standard output or "
        "give --out FILE");
  }

  // Declared sink first: destroyed last, so an uncommitted temporary file is
  // removed only after everything writing into it is gone.
  std::optional<PartialFile> file;
  std::optional<FdSink> standard_output;
  stream::ByteSink* output = nullptr;
  if (options.out == "-") {
    output = &standard_output.emplace(env.stdout_fd, "standard output");
  } else {
    output = &file.emplace(options.out).sink();
  }
  std::unique_ptr<stream::ByteSink> decompressor;
  stream::ByteSink* plaintext = output;
  if (!options.skip_decompress) {
    decompressor = compress::make_decompressor(compress::Codec::zstd, *output);
    plaintext = decompressor.get();
  }
  blob::BlobReader reader(key.key.bytes(), *plaintext);
  // Hashes exactly the bytes read, i.e. the stored object the server hashed.
  stream::HashingSink hashing(&reader);

  if (env.stderr_is_terminal && !options.quiet) progress.emplace(env.err, input.size);
  pump(input, hashing, progress ? &*progress : nullptr);
  // Checks the terminator and the end of the zstd stream; fsyncs the file.
  hashing.finish();

  if (expected_sha256 && hashing.sha256_hex() != *expected_sha256) {
    throw Failure("sha256 mismatch: expected " + *expected_sha256 + ", got " +
                  hashing.sha256_hex());
  }
  if (file) file->commit();
  if (progress) progress->complete(hashing.bytes());
}

}  // namespace

int run(const std::vector<std::string>& args, const Environment& env) {
  auto parsed = parse_options(args);
  if (auto* usage = std::get_if<UsageError>(&parsed)) {
    env.err << kProgram << ": " << usage->message << "\n\n" << usage_text();
    return 2;
  }
  const Options& options = std::get<Options>(parsed);
  switch (options.action) {
    case Options::Action::help: env.out << usage_text(); return 0;
    case Options::Action::version:
      env.out << kProgram << " " << core::kVersion << " (" << core::kCommit
              << "), encrypted blob format v1\n";
      return 0;
    case Options::Action::decrypt: break;
  }

  std::optional<ProgressLine> progress;
  try {
    decrypt(options, env, progress);
    return 0;
  } catch (const std::exception& error) {
    // BlobError, compress::FormatError, Failure, std::system_error: each
    // carries a complete, precise message that names no key.
    if (progress) progress->interrupt();
    env.err << kProgram << ": " << error.what() << "\n";
    return 1;
  }
}

int main_with_args(int argc, char** argv) {
  const Environment env{.out = std::cout,
                        .err = std::cerr,
                        .stdin_fd = STDIN_FILENO,
                        .stdout_fd = STDOUT_FILENO,
                        .stderr_is_terminal = ::isatty(STDERR_FILENO) == 1,
                        .now = std::chrono::system_clock::now()};
  return run(std::vector<std::string>(argv + 1, argv + argc), env);
}

}  // namespace backupy::decrypt

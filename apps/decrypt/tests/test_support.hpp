#pragma once
// Fixtures for the backupy-decrypt tests: a scratch directory, blobs made by
// the real writer side (zstd compressor → BlobWriter), and an in-process run.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "backupy/blob/blob_writer.hpp"
#include "backupy/compress/codec.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "decrypt_command.hpp"

namespace backupy::decrypt::testing {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "backupy-decrypt-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }
  // Names of the entries, to prove that no temporary file was left behind.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path path_;
};

inline void write_file(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

inline std::array<std::uint8_t, 32> test_key() {
  std::array<std::uint8_t, 32> key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  return key;
}

constexpr const char* kTestKeyHex =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

// SQL-like text with random values: compresses about 2:1, so the default
// size gives a blob of several 1 MiB frames. Deterministic.
inline std::string sample_plaintext(std::size_t lines = 100'000) {
  std::mt19937_64 rng(1234);
  std::string text;
  char value[40];
  for (std::size_t i = 0; i < lines; ++i) {
    std::snprintf(value, sizeof value, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    text += "INSERT INTO t VALUES (" + std::to_string(i) + ", '" + value + "');\n";
  }
  return text;
}

// The stored object for plaintext, as the agent makes it: zstd, then blob v1.
// compress = false gives a blob whose plaintext is plaintext itself.
inline std::string make_blob(std::string_view plaintext, bool compress = true,
                             const std::array<std::uint8_t, 32>& key = test_key()) {
  stream::MemorySink stored;
  blob::BlobWriter writer(key, stored);
  if (compress) {
    auto compressor = compress::make_compressor(compress::Codec::zstd, {}, writer);
    compressor->write(plaintext);
    compressor->finish();
  } else {
    writer.write(plaintext);
    writer.finish();
  }
  return stored.take();
}

inline std::string sha256_hex(std::string_view data) {
  return crypto::sha256_hex(crypto::as_bytes(data));
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline RunResult run_decrypt(
    const std::vector<std::string>& args,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
  std::ostringstream out, err;
  const Environment env{.out = out,
                        .err = err,
                        .stdin_fd = -1,
                        .stdout_fd = -1,
                        .stderr_is_terminal = false,
                        .now = now};
  RunResult result;
  result.exit_code = run(args, env);
  result.out = out.str();
  result.err = err.str();
  return result;
}

}  // namespace backupy::decrypt::testing

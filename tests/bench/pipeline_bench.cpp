// The backup pipeline's throughput and peak memory, for tests/bench/pipeline.sh.
//
//   pipeline_bench generate BYTES OUT     a SQL-dump-like corpus (zstd -3: ~4-6x)
//   pipeline_bench run IN SPOOL WORKERS [LEVEL] [plain]
//       IN -> zstd (LEVEL, default 3; WORKERS threads) -> AES-256-GCM blob
//       (unless "plain") -> SHA-256 -> SPOOL (fsynced, removed afterwards).
//       Prints one line: key=value pairs, peak RSS (VmHWM) of this process.
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "backupy/core/files.hpp"
#include "backupy/pipeline/pipeline.hpp"
#include "backupy/stream/copy.hpp"

namespace {

using backupy::core::UniqueFd;
namespace pipeline = backupy::pipeline;

// splitmix64: fast, and deterministic so every run sees the same corpus.
struct Rng {
  std::uint64_t state = 0x243F6A8885A308D3ull;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

constexpr std::string_view kFirst[] = {
    "anna",  "bernd", "chen",  "dmitri", "elena", "farid", "greta", "hiro", "ines",  "jonas",
    "karin", "liam",  "maria", "noah",   "olga",  "pavel", "quinn", "rosa", "sven",  "tariq",
    "ute",   "vera",  "wei",   "ximena", "yusuf", "zoe",   "ali",   "bea",  "carlo", "dana"};
constexpr std::string_view kLast[] = {"schmidt", "nguyen", "garcia", "kowalski", "rossi",  "tanaka",
                                      "muller",  "silva",  "novak",  "ivanov",   "jensen", "dubois",
                                      "khan",    "lopez",  "weber",  "fischer",  "martin", "moreau",
                                      "costa",   "horvat", "nielsen"};
constexpr std::string_view kWords[] = {
    "order",    "shipped",  "customer", "requested", "delivery", "express",  "gift",    "wrap",
    "please",   "call",     "before",   "arrival",   "leave",    "at",       "door",    "fragile",
    "handle",   "with",     "care",     "invoice",   "attached", "refund",   "pending", "approved",
    "warranty", "extended", "back",     "ordered",   "discount", "applied",  "coupon",  "spring",
    "summer",   "sale",     "returned", "damaged",   "replaced", "priority", "support", "ticket"};
constexpr std::string_view kStatus[] = {"'pending'",   "'paid'",      "'shipped'",
                                        "'delivered'", "'cancelled'", "'refunded'"};
constexpr std::string_view kCurrency[] = {"'EUR'", "'USD'", "'GBP'", "'CHF'"};

template <std::size_t N>
std::string_view pick(Rng& rng, const std::string_view (&list)[N]) {
  return list[rng.below(N)];
}

void two_digits(std::string& out, std::uint64_t value) {
  out += static_cast<char>('0' + value / 10);
  out += static_cast<char>('0' + value % 10);
}

// One INSERT per row, as pg_dump --inserts or mysqldump would write: ids
// that grow, timestamps that mostly move forward, names, amounts, free text.
void generate(std::uint64_t total, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot create " + path);
  Rng rng;
  std::string line;
  std::uint64_t written = 0;
  std::uint64_t id = 1'000'000;
  std::uint64_t epoch_s = 1'700'000'000;
  while (written < total) {
    line.clear();
    ++id;
    epoch_s += rng.below(40);
    const std::uint64_t day = epoch_s / 86400 % 28 + 1;
    const std::uint64_t secs = epoch_s % 86400;
    line +=
        "INSERT INTO public.orders (id, customer_id, customer_name, email, status, amount, "
        "currency, created_at, reference, note) VALUES (";
    line += std::to_string(id);
    line += ", ";
    line += std::to_string(rng.below(250'000));
    line += ", '";
    const std::string_view first = pick(rng, kFirst);
    const std::string_view last = pick(rng, kLast);
    line += first;
    line += ' ';
    line += last;
    line += "', '";
    line += first;
    line += '.';
    line += last;
    line += std::to_string(rng.below(1000));
    line += "@example.com', ";
    line += pick(rng, kStatus);
    line += ", ";
    line += std::to_string(rng.below(100'000));
    line += '.';
    two_digits(line, rng.below(100));
    line += ", ";
    line += pick(rng, kCurrency);
    line += ", '2025-";
    two_digits(line, epoch_s / (86400 * 28) % 12 + 1);
    line += '-';
    two_digits(line, day);
    line += ' ';
    two_digits(line, secs / 3600);
    line += ':';
    two_digits(line, secs / 60 % 60);
    line += ':';
    two_digits(line, secs % 60);
    line += '.';
    line += std::to_string(100'000 + rng.below(900'000));
    line += "+00', '";
    // An opaque payment reference: the kind of column that does not compress.
    for (std::uint64_t r = rng.next(), i = 0; i < 8; ++i, r >>= 5) {
      line += "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[r & 31];
    }
    line += "', ";
    if (rng.below(4) == 0) {
      line += "NULL";
    } else {
      line += '\'';
      const std::uint64_t words = 3 + rng.below(10);
      for (std::uint64_t w = 0; w < words; ++w) {
        if (w != 0) line += ' ';
        line += pick(rng, kWords);
      }
      line += '\'';
    }
    line += ");\n";
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    written += line.size();
  }
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

std::uint64_t vm_hwm_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6));
  }
  return 0;
}

int run(const std::string& input, const std::string& spool, int workers, int level, bool plain) {
  pipeline::PipelineOptions options;
  options.compress.level = level;
  options.compress.workers = workers;
  if (!plain) options.dek = std::array<std::uint8_t, 32>{1, 2, 3};  // a fixed, fake key
  options.spool_path = spool;
  UniqueFd fd(::open(input.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw std::runtime_error("cannot open " + input);

  const auto start = std::chrono::steady_clock::now();
  const pipeline::PipelineResult result = pipeline::run_pipeline(
      [&](backupy::stream::ByteSink& sink) { backupy::stream::copy_fd_to_sink(fd.get(), sink); },
      options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::filesystem::remove(spool);

  std::printf(
      "raw_bytes=%llu stored_bytes=%llu seconds=%.3f mb_per_s=%.1f ratio=%.2f "
      "peak_rss_kib=%llu\n",
      static_cast<unsigned long long>(result.raw_bytes),
      static_cast<unsigned long long>(result.stored_bytes), seconds,
      static_cast<double>(result.raw_bytes) / 1e6 / seconds,
      static_cast<double>(result.raw_bytes) / static_cast<double>(result.stored_bytes),
      static_cast<unsigned long long>(vm_hwm_kib()));
  return 0;
}

int usage() {
  std::cerr << "usage: pipeline_bench generate BYTES OUT\n"
               "       pipeline_bench run IN SPOOL WORKERS [LEVEL] [plain]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string command = argc > 1 ? argv[1] : "";
    if (command == "generate" && argc == 4) {
      generate(std::stoull(argv[2]), argv[3]);
      return 0;
    }
    if (command == "run" && argc >= 5 && argc <= 7) {
      const int level = argc >= 6 ? std::stoi(argv[5]) : 3;
      const bool plain = argc == 7 && std::string_view(argv[6]) == "plain";
      return run(argv[2], argv[3], std::stoi(argv[4]), level, plain);
    }
    return usage();
  } catch (const std::exception& e) {
    std::cerr << "pipeline_bench: " << e.what() << '\n';
    return 1;
  }
}

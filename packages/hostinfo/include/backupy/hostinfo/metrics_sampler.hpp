#pragma once
// Host resource figures for Heartbeat.metrics, read from procfs and statvfs.
//
// CPU is a rate: the sampler keeps the previous /proc/stat reading and reports
// the busy share of all CPU time since then (the first sample covers the time
// since boot). Memory "used" follows free(1): MemTotal - MemAvailable.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace backupy::hostinfo {

struct HostMetrics {
  float cpu_percent = 0;
  std::uint64_t mem_used_bytes = 0;
  std::uint64_t mem_total_bytes = 0;
  std::uint64_t disk_used_bytes = 0;
  std::uint64_t disk_total_bytes = 0;
};

struct CpuTimes {
  std::uint64_t busy = 0;
  std::uint64_t total = 0;
};

// Pure parsers, exposed for tests.
std::optional<CpuTimes> parse_proc_stat(const std::string& content);
// Returns {total, used} in bytes.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_meminfo(const std::string& content);

class MetricsSampler {
 public:
  // disk_path: the volume whose usage is reported (the state directory).
  explicit MetricsSampler(std::filesystem::path disk_path,
                          std::filesystem::path proc_root = "/proc");
  HostMetrics sample();

 private:
  std::filesystem::path disk_path_;
  std::filesystem::path proc_root_;
  std::optional<CpuTimes> previous_cpu_;
};

}  // namespace backupy::hostinfo

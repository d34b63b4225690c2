#include "backupy/hostinfo/metrics_sampler.hpp"

#include <sys/statvfs.h>

#include <fstream>
#include <sstream>

namespace backupy::hostinfo {
namespace {

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::optional<CpuTimes> parse_proc_stat(const std::string& content) {
  std::istringstream in(content);
  std::string label;
  in >> label;
  if (label != "cpu") return std::nullopt;
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  std::uint64_t fields[8] = {};
  int read = 0;
  for (; read < 8 && (in >> fields[read]); ++read) {
  }
  if (read < 4) return std::nullopt;
  CpuTimes times;
  for (int i = 0; i < read; ++i) times.total += fields[i];
  const std::uint64_t idle = fields[3] + (read > 4 ? fields[4] : 0);
  times.busy = times.total - idle;
  return times;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_meminfo(const std::string& content) {
  std::istringstream in(content);
  std::string key;
  std::uint64_t value_kib = 0;
  std::string unit;
  std::optional<std::uint64_t> total, available;
  while (in >> key >> value_kib) {
    std::getline(in, unit);
    if (key == "MemTotal:") total = value_kib * 1024;
    if (key == "MemAvailable:") available = value_kib * 1024;
  }
  if (!total || !available || *available > *total) return std::nullopt;
  return std::pair{*total, *total - *available};
}

MetricsSampler::MetricsSampler(std::filesystem::path disk_path, std::filesystem::path proc_root)
    : disk_path_(std::move(disk_path)), proc_root_(std::move(proc_root)) {}

HostMetrics MetricsSampler::sample() {
  HostMetrics metrics;
  if (auto cpu = parse_proc_stat(slurp(proc_root_ / "stat"))) {
    const CpuTimes base = previous_cpu_.value_or(CpuTimes{});
    const std::uint64_t total = cpu->total - base.total;
    const std::uint64_t busy = cpu->busy - base.busy;
    if (total > 0)
      metrics.cpu_percent = 100.0f * static_cast<float>(busy) / static_cast<float>(total);
    previous_cpu_ = cpu;
  }
  if (auto mem = parse_meminfo(slurp(proc_root_ / "meminfo"))) {
    metrics.mem_total_bytes = mem->first;
    metrics.mem_used_bytes = mem->second;
  }
  struct statvfs fs {};
  if (::statvfs(disk_path_.c_str(), &fs) == 0) {
    metrics.disk_total_bytes = static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
    metrics.disk_used_bytes = static_cast<std::uint64_t>(fs.f_blocks - fs.f_bfree) * fs.f_frsize;
  }
  return metrics;
}

}  // namespace backupy::hostinfo

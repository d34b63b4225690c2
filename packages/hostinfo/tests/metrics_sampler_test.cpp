#include "backupy/hostinfo/metrics_sampler.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "backupy/hostinfo/identity.hpp"

namespace backupy::hostinfo {
namespace {

TEST(MetricsSamplerTest, ParsesProcStatCpuLine) {
  const auto times = parse_proc_stat("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n");
  ASSERT_TRUE(times.has_value());
  EXPECT_EQ(times->total, 1000u);
  EXPECT_EQ(times->busy, 150u);
  EXPECT_FALSE(parse_proc_stat("intr 1 2 3").has_value());
}

TEST(MetricsSamplerTest, ParsesMeminfoAsTotalMinusAvailable) {
  const auto mem = parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 400 kB\n");
  ASSERT_TRUE(mem.has_value());
  EXPECT_EQ(mem->first, 1000u * 1024);
  EXPECT_EQ(mem->second, 600u * 1024);
  EXPECT_FALSE(parse_meminfo("MemTotal: 10 kB\n").has_value());
}

TEST(MetricsSamplerTest, CpuPercentIsTheBusyShareSinceTheLastSample) {
  char tmpl[] = "/tmp/backupy-proc-XXXXXX";
  const std::filesystem::path root = ::mkdtemp(tmpl);
  auto write_stat = [&](const char* line) { std::ofstream(root / "stat") << line; };
  std::ofstream(root / "meminfo") << "MemTotal: 2048 kB\nMemAvailable: 1024 kB\n";
  MetricsSampler sampler(root, root);
  write_stat("cpu 100 0 0 900 0 0 0 0\n");
  EXPECT_NEAR(sampler.sample().cpu_percent, 10.0f, 0.01f);
  write_stat("cpu 400 0 0 1000 0 0 0 0\n");  // +300 busy, +100 idle
  const HostMetrics metrics = sampler.sample();
  EXPECT_NEAR(metrics.cpu_percent, 75.0f, 0.01f);
  EXPECT_EQ(metrics.mem_used_bytes, 1024u * 1024);
  EXPECT_GT(metrics.disk_total_bytes, 0u);
  EXPECT_LE(metrics.disk_used_bytes, metrics.disk_total_bytes);
  std::filesystem::remove_all(root);
}

TEST(MetricsSamplerTest, RealHostGivesPlausibleFigures) {
  MetricsSampler sampler("/");
  const HostMetrics metrics = sampler.sample();
  EXPECT_GT(metrics.mem_total_bytes, 0u);
  EXPECT_GE(metrics.cpu_percent, 0.0f);
  EXPECT_LE(metrics.cpu_percent, 100.0f);
}

TEST(IdentityTest, NormalizesArchitectures) {
  EXPECT_EQ(normalize_arch("x86_64"), "amd64");
  EXPECT_EQ(normalize_arch("aarch64"), "arm64");
  EXPECT_EQ(normalize_arch("riscv64"), "riscv64");
  const auto identity = read_host_identity();
  EXPECT_EQ(identity.os, "linux");
  EXPECT_FALSE(identity.hostname.empty());
}

}  // namespace
}  // namespace backupy::hostinfo

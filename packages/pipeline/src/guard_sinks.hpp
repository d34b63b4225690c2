#pragma once
// The two pass-through stages that only run_pipeline() needs: a disk budget in
// front of the spool file and a stop check at the head of the chain.
#include <cstdint>
#include <span>
#include <stop_token>
#include <utility>

#include "backupy/stream/byte_sink.hpp"

namespace backupy::pipeline::detail {

// Throws BudgetExceeded before forwarding a write that would take the total
// past budget_bytes (0 = unlimited), so the file never grows beyond it.
class BudgetSink : public stream::ByteSink {
 public:
  BudgetSink(stream::ByteSink& next, std::uint64_t budget_bytes)
      : next_(next), budget_(budget_bytes) {}

  using stream::ByteSink::write;
  void write(std::span<const std::uint8_t> data) override;
  void finish() override { next_.finish(); }

 private:
  stream::ByteSink& next_;
  std::uint64_t budget_;
  std::uint64_t bytes_ = 0;
};

// Throws Cancelled from write() and finish() once stop is requested. At the
// head of the chain, so a cancelled run stops within one source write and a
// source that returns early after a stop never gets its stream finished.
class StopSink : public stream::ByteSink {
 public:
  StopSink(stream::ByteSink& next, std::stop_token stop) : next_(next), stop_(std::move(stop)) {}

  using stream::ByteSink::write;
  void write(std::span<const std::uint8_t> data) override;
  void finish() override;

 private:
  stream::ByteSink& next_;
  std::stop_token stop_;
};

}  // namespace backupy::pipeline::detail

#include "guard_sinks.hpp"

#include "backupy/pipeline/pipeline.hpp"

namespace backupy::pipeline {

BudgetExceeded::BudgetExceeded(std::uint64_t budget_bytes)
    : std::runtime_error("spool would exceed the disk budget of " + std::to_string(budget_bytes) +
                         " bytes"),
      budget_bytes_(budget_bytes) {}

namespace detail {

void BudgetSink::write(std::span<const std::uint8_t> data) {
  // Subtraction form: bytes_ <= budget_ always holds, so nothing overflows.
  if (budget_ != 0 && data.size() > budget_ - bytes_) throw BudgetExceeded(budget_);
  next_.write(data);
  bytes_ += data.size();
}

void StopSink::write(std::span<const std::uint8_t> data) {
  if (stop_.stop_requested()) throw stream::Cancelled();
  next_.write(data);
}

void StopSink::finish() {
  if (stop_.stop_requested()) throw stream::Cancelled();
  next_.finish();
}

}  // namespace detail
}  // namespace backupy::pipeline

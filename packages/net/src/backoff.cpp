#include "backupy/net/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace backupy::net {
namespace {

std::function<double()> default_uniform01() {
  // Seeded per instance: agents restarted together must not reconnect in lockstep.
  return
      [engine = std::mt19937_64{std::random_device{}()},
       dist = std::uniform_real_distribution<double>(0.0, 1.0)]() mutable { return dist(engine); };
}

// A policy that would make the arithmetic below misbehave (negative delays,
// shrinking "backoff", jitter beyond +/-100 %) is clamped rather than rejected:
// reconnecting must never fail because of a tuning mistake.
BackoffPolicy sanitized(BackoffPolicy policy) {
  using std::chrono::milliseconds;
  policy.initial = std::max(policy.initial, milliseconds{1});
  policy.cap = std::max(policy.cap, policy.initial);
  policy.multiplier = std::max(policy.multiplier, 1.0);
  policy.jitter = std::clamp(policy.jitter, 0.0, 1.0);
  return policy;
}

}  // namespace

Backoff::Backoff(BackoffPolicy policy, std::function<double()> uniform01)
    : policy_(sanitized(policy)),
      uniform01_(uniform01 ? std::move(uniform01) : default_uniform01()),
      base_(policy_.initial) {}

std::chrono::milliseconds Backoff::next_delay() {
  const double base = static_cast<double>(std::min(base_, policy_.cap).count());
  // Clamp so a sloppy random source cannot push the delay past the documented bounds.
  const double u = std::clamp(uniform01_(), 0.0, 1.0);
  const double delay = base * (1.0 + policy_.jitter * (2.0 * u - 1.0));
  ++attempts_;
  // Grow in floating point so a large multiplier cannot overflow the integer count.
  const double grown = static_cast<double>(base_.count()) * policy_.multiplier;
  const double cap = static_cast<double>(policy_.cap.count());
  base_ = std::chrono::milliseconds{static_cast<std::int64_t>(std::min(grown, cap))};
  return std::chrono::milliseconds{std::llround(std::max(delay, 0.0))};
}

void Backoff::jump_to_cap() {
  base_ = policy_.cap;
}

void Backoff::reset() {
  base_ = policy_.initial;
  attempts_ = 0;
}

}  // namespace backupy::net

#pragma once
// Reconnect backoff: initial delay doubling to a cap, with symmetric jitter.
//
// Policy from the v1 contract: 1 s -> 2 s -> ... -> 60 s cap, +/-20 % jitter,
// reset once a connection has been healthy. The random source is injected so
// that tests can pin the jitter to its bounds.
#include <chrono>
#include <functional>

namespace backupy::net {

struct BackoffPolicy {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds cap{60000};
  double multiplier = 2.0;
  double jitter = 0.2;  // fraction: delay * (1 + U[-jitter, +jitter])
};

class Backoff {
 public:
  // uniform01 returns values in [0, 1); defaults to a seeded std::mt19937_64.
  explicit Backoff(BackoffPolicy policy = {}, std::function<double()> uniform01 = {});

  // The delay before the next attempt; advances the exponent.
  std::chrono::milliseconds next_delay();
  // Jump straight to the cap (used after authentication failures).
  void jump_to_cap();
  // Back to the initial delay (after a healthy connection).
  void reset();

  unsigned attempts() const { return attempts_; }
  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  std::function<double()> uniform01_;
  std::chrono::milliseconds base_;
  unsigned attempts_ = 0;
};

}  // namespace backupy::net

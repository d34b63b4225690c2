#pragma once
// The one door through which workers hand results to the control plane.
//
// Thread-safe: a dump worker, health checker or discovery loop calls report();
// the result is committed to the durable outbox first, then the session is
// woken (posted to the control thread) to send it. Nothing is lost when the
// connection is down or the process restarts.
#include <cstdint>
#include <functional>

#include "backup/v1/agent.pb.h"
#include "backupy/state/outbox.hpp"

namespace backupy::session {

// Which drop class a result belongs to (see state/outbox.hpp).
state::OutboxClass outbox_class_for(const backup::v1::Envelope& envelope);

class ResultReporter {
 public:
  ResultReporter(state::Outbox& outbox, std::function<void()> wake);

  // Stamps ts_ms if unset, appends, wakes the sender. Returns the outbox seq.
  std::uint64_t report(backup::v1::Envelope envelope);

 private:
  state::Outbox& outbox_;
  std::function<void()> wake_;
};

}  // namespace backupy::session

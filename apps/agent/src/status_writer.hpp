#pragma once
// Refreshes the status file on the control thread every kStatusInterval.
#include <functional>
#include <memory>

#include "status_file.hpp"

namespace boost::asio {
class io_context;
}

namespace backupy::agent {

class StatusWriter {
 public:
  // collect() is called on the control thread to build each snapshot.
  StatusWriter(boost::asio::io_context& io, std::filesystem::path path,
               std::function<AgentStatus()> collect);
  ~StatusWriter();
  void start();
  // Writes a fresh snapshot now (on state changes); the timer keeps ticking.
  void refresh();
  // Cancels the timer and writes a final snapshot with running = false.
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backupy::agent

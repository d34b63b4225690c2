#include "status_writer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <utility>

#include "backupy/core/files.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/time.hpp"

namespace backupy::agent {
namespace {
const core::Logger kLog("status");
}

class StatusWriter::Impl {
 public:
  Impl(boost::asio::io_context& io, std::filesystem::path path,
       std::function<AgentStatus()> collect)
      : timer_(io), path_(std::move(path)), collect_(std::move(collect)) {}

  void tick() {
    write(true);
    timer_.expires_after(kStatusInterval);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  }

  void write(bool running) {
    AgentStatus status = collect_();
    status.running = running;
    status.updated_at_ms = core::now_ms();
    try {
      // No fsync: the file describes the live process; losing it in a power
      // cut is harmless, and fsyncing every 2 s would wear the volume.
      core::write_file_atomically(path_, render_status_json(status), 0644,
                                  core::Durability::replace);
      failing_ = false;
    } catch (const std::exception& e) {
      if (!failing_) kLog.error("cannot write the status file", {{"error", e.what()}});
      failing_ = true;
    }
  }

  boost::asio::steady_timer timer_;
  std::filesystem::path path_;
  std::function<AgentStatus()> collect_;
  bool failing_ = false;
};

StatusWriter::StatusWriter(boost::asio::io_context& io, std::filesystem::path path,
                           std::function<AgentStatus()> collect)
    : impl_(std::make_unique<Impl>(io, std::move(path), std::move(collect))) {}
StatusWriter::~StatusWriter() = default;

void StatusWriter::start() {
  impl_->tick();
}

void StatusWriter::refresh() {
  impl_->write(true);
}

void StatusWriter::stop() {
  impl_->timer_.cancel();
  impl_->write(false);
}

}  // namespace backupy::agent

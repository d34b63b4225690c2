#include "backupy/stream/memory_sink.hpp"

#include <stdexcept>

namespace backupy::stream {

void MemorySink::write(std::span<const std::uint8_t> data) {
  if (finished_) throw std::logic_error("write after finish on a memory sink");
  data_.append(reinterpret_cast<const char*>(data.data()), data.size());
}

void MemorySink::finish() {
  if (finished_) throw std::logic_error("finish called twice on a memory sink");
  finished_ = true;
}

}  // namespace backupy::stream

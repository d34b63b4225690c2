#pragma once
// Thrown by any stage of a byte stream (source, sink, pipeline) once its stop
// token is triggered. Lives at the bottom of the stack so that drivers and the
// pipeline can both throw it without one depending on the other.
#include <stdexcept>

namespace backupy::stream {

class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("backup cancelled") {}
};

}  // namespace backupy::stream

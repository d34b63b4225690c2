#pragma once
// A run-time failure of backupy-decrypt: reported as one line
// "backupy-decrypt: <message>" and exit code 1. The pipeline's own errors
// (BlobError, compress::FormatError, std::system_error) are reported the same
// way; this type is for the checks the command itself makes.
#include <stdexcept>

namespace backupy::decrypt {

class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace backupy::decrypt

#pragma once
// A private temporary directory, removed with everything in it at scope exit.
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace backupy::test_support {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "backupy-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  bool empty() const { return std::filesystem::is_empty(path_); }

 private:
  std::filesystem::path path_;
};

}  // namespace backupy::test_support

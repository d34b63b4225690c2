#pragma once
// A throwaway state database for session tests.
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "backupy/state/state_db.hpp"

namespace backupy::session::testing {

class TestStateDir {
 public:
  TestStateDir() {
    char tmpl[] = "/tmp/backupy-session-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~TestStateDir() { std::filesystem::remove_all(dir_); }
  std::unique_ptr<state::StateDb> open() const { return state::StateDb::open(dir_ / "state.db"); }
  const std::filesystem::path& path() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace backupy::session::testing

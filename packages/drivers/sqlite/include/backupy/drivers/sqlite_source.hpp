#pragma once
// A backup source for a SQLite database file, read natively (no server).
//
// The live file is never streamed directly: a writer could change it under
// the reader and the bytes would be a torn mix of two states. Instead the
// online-backup API copies one consistent snapshot into a private temporary
// file, PRAGMA quick_check vets the copy, and only then its bytes go out.
#include <filesystem>
#include <stop_token>
#include <string>

#include "backupy/stream/byte_sink.hpp"

namespace backupy::drivers {

struct SqliteSource {
  std::filesystem::path database;  // the live database file
  std::filesystem::path temp_dir;  // where the private copy lives during dump()

  // "SQLite 3.40.1": the library that reads the file (there is no server).
  std::string server_version() const;

  // Copies the database (opened read-only; writers in other connections keep
  // working, waited for briefly when they hold a lock), checks the copy and
  // writes its bytes into out without finishing it. The copy is created with
  // mode 0600 and removed on return and on every exception.
  // Throws std::runtime_error with a message naming the database
  // ("cannot open sqlite database /x: ...", "quick_check failed on the copy
  // of /x: ..."), std::system_error for temp-file I/O, and
  // stream::Cancelled once stop is requested.
  void dump(stream::ByteSink& out, std::stop_token stop) const;
};

}  // namespace backupy::drivers

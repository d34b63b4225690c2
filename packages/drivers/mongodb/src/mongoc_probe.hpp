#pragma once
// The probe's conversation with the server through libmongoc (the official
// C driver), kept apart from the driver so that libmongoc's headers stay in
// one translation unit.
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace backupy::drivers::mongodb {

struct ProbeTarget {
  // A mongodb:// or mongodb+srv:// connection string: the user's, or one the
  // driver built from host/port (credentials are never put into it).
  std::string uri;
  // Applied on top of the URI when not empty (a URI's own values win for
  // auth_source; username/password only fill what the URI lacks).
  std::string username;
  std::string password;
  std::string auth_source;
  // Checked with listDatabases and measured with dbStats when not empty.
  std::string database;
  std::chrono::milliseconds timeout{10'000};  // connectTimeoutMS, serverSelectionTimeoutMS
};

struct ProbeResult {
  std::string version;                     // buildInfo.version: "7.0.5"
  std::optional<std::uint64_t> data_size;  // dbStats.dataSize of the database
};

class ProbeError : public std::runtime_error {
 public:
  enum class Kind { invalid_uri, unreachable, authentication, missing_database, other };
  ProbeError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// Connects (authenticating when credentials are given), runs buildInfo, checks
// that the database exists (listDatabases nameOnly) and asks dbStats for its
// size. Throws ProbeError with libmongoc's or the server's message, which may
// echo parts of the URI: callers mask secrets.
ProbeResult probe_server(const ProbeTarget& target);

}  // namespace backupy::drivers::mongodb

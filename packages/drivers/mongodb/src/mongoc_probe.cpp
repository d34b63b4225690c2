#include "mongoc_probe.hpp"

#include <mongoc/mongoc.h>

#include <memory>
#include <string_view>
#include <vector>

namespace backupy::drivers::mongodb {
namespace {

// mongoc_init() must run once per process before any other libmongoc call
// and mongoc_cleanup() once after the last: a function-local static does both
// (thread-safe initialisation; cleanup at exit, after the run workers that
// probe have been joined). libmongoc's own log output is silenced: the agent
// logs JSON lines on stderr, and every failure reaches us through bson_error_t.
class MongocLibrary {
 public:
  MongocLibrary() {
    mongoc_init();
    mongoc_log_set_handler([](mongoc_log_level_t, const char*, const char*, void*) {}, nullptr);
  }
  ~MongocLibrary() { mongoc_cleanup(); }
  MongocLibrary(const MongocLibrary&) = delete;
  MongocLibrary& operator=(const MongocLibrary&) = delete;
};

void ensure_library() {
  static MongocLibrary library;
}

struct UriDeleter {
  void operator()(mongoc_uri_t* uri) const { mongoc_uri_destroy(uri); }
};
struct ClientDeleter {
  void operator()(mongoc_client_t* client) const { mongoc_client_destroy(client); }
};
using Uri = std::unique_ptr<mongoc_uri_t, UriDeleter>;
using Client = std::unique_ptr<mongoc_client_t, ClientDeleter>;

// An owned bson_t* (BCON_NEW). Not a unique_ptr: bson_t carries an alignment
// attribute that std::unique_ptr's template argument would drop.
class Bson {
 public:
  explicit Bson(bson_t* doc) : doc_(doc) {}
  ~Bson() {
    if (doc_) bson_destroy(doc_);
  }
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;
  const bson_t* get() const { return doc_; }

 private:
  bson_t* doc_;
};

// A command reply: mongoc_client_command_simple() initialises it even on
// failure, so it is destroyed in every case.
struct Reply {
  bson_t doc = BSON_INITIALIZER;
  Reply() = default;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply() { bson_destroy(&doc); }
};

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

ProbeError error_of(const bson_error_t& error) {
  const std::string message = error.message;
  using Kind = ProbeError::Kind;
  // Error API v2 domains: authentication fails in MONGOC_ERROR_CLIENT /
  // _AUTHENTICATE; a server that cannot be reached in SERVER_SELECTION (or in
  // STREAM when a connection broke). A server's own "Authentication failed."
  // (code 18) is matched too.
  if ((error.domain == MONGOC_ERROR_CLIENT && error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE) ||
      error.code == 18 || contains(message, "Authentication failed")) {
    return ProbeError(Kind::authentication, message);
  }
  if (error.domain == MONGOC_ERROR_SERVER_SELECTION || error.domain == MONGOC_ERROR_STREAM) {
    return ProbeError(Kind::unreachable, message);
  }
  return ProbeError(Kind::other, message);
}

void run(mongoc_client_t* client, const char* db, const bson_t* command, Reply& reply) {
  bson_error_t error;
  if (!mongoc_client_command_simple(client, db, command, nullptr, &reply.doc, &error)) {
    throw error_of(error);
  }
}

std::optional<std::uint64_t> number_of(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_NUMBER(&it)) return std::nullopt;
  const double value = bson_iter_as_double(&it);
  if (value < 0) return std::nullopt;
  return static_cast<std::uint64_t>(value);
}

}  // namespace

ProbeResult probe_server(const ProbeTarget& target) {
  ensure_library();
  using Kind = ProbeError::Kind;
  bson_error_t error;
  Uri uri(mongoc_uri_new_with_error(target.uri.c_str(), &error));
  if (!uri) throw ProbeError(Kind::invalid_uri, error.message);
  if (!target.username.empty() && !mongoc_uri_get_username(uri.get())) {
    mongoc_uri_set_username(uri.get(), target.username.c_str());
  }
  if (!target.password.empty() && !mongoc_uri_get_password(uri.get())) {
    mongoc_uri_set_password(uri.get(), target.password.c_str());
  }
  if (!target.auth_source.empty() && !mongoc_uri_has_option(uri.get(), MONGOC_URI_AUTHSOURCE)) {
    mongoc_uri_set_auth_source(uri.get(), target.auth_source.c_str());
  }
  const auto timeout_ms = static_cast<int32_t>(target.timeout.count());
  for (const char* option : {MONGOC_URI_CONNECTTIMEOUTMS, MONGOC_URI_SERVERSELECTIONTIMEOUTMS}) {
    if (!mongoc_uri_has_option(uri.get(), option)) {
      mongoc_uri_set_option_as_int32(uri.get(), option, timeout_ms);
    }
  }
  if (!mongoc_uri_has_option(uri.get(), MONGOC_URI_APPNAME)) {
    mongoc_uri_set_appname(uri.get(), "backupy");
  }

  Client client(mongoc_client_new_from_uri_with_error(uri.get(), &error));
  if (!client) throw ProbeError(Kind::invalid_uri, error.message);
  mongoc_client_set_error_api(client.get(), MONGOC_ERROR_API_VERSION_2);

  ProbeResult result;
  {
    // The first command connects and authenticates.
    Bson command(BCON_NEW("buildInfo", BCON_INT32(1)));
    Reply reply;
    run(client.get(), "admin", command.get(), reply);
    bson_iter_t it;
    if (bson_iter_init_find(&it, &reply.doc, "version") && BSON_ITER_HOLDS_UTF8(&it)) {
      result.version = bson_iter_utf8(&it, nullptr);
    }
    if (result.version.empty()) throw ProbeError(Kind::other, "buildInfo returned no version");
  }
  if (target.database.empty()) return result;

  {
    // MongoDB creates a database on first write, so connecting to a missing
    // one succeeds: ask for the list. A user without the listDatabases
    // privilege gets the databases it may use (authorizedDatabases), which is
    // what matters for the dump.
    Bson command(BCON_NEW("listDatabases", BCON_INT32(1), "nameOnly", BCON_BOOL(true)));
    Reply reply;
    if (!mongoc_client_command_simple(client.get(), "admin", command.get(), nullptr, &reply.doc,
                                      &error)) {
      // Unauthorized (13) to list at all: the dump itself will tell.
      if (error.code == 13) return result;
      throw error_of(error);
    }
    bool found = false;
    bson_iter_t it;
    bson_iter_t databases;
    if (bson_iter_init_find(&it, &reply.doc, "databases") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &databases)) {
      while (!found && bson_iter_next(&databases)) {
        bson_iter_t entry;
        bson_iter_t name;
        if (BSON_ITER_HOLDS_DOCUMENT(&databases) && bson_iter_recurse(&databases, &entry) &&
            bson_iter_find(&entry, "name") && BSON_ITER_HOLDS_UTF8(&entry)) {
          name = entry;
          found = target.database == bson_iter_utf8(&name, nullptr);
        }
      }
    }
    if (!found) throw ProbeError(Kind::missing_database, "no such database");
  }
  {
    Bson command(BCON_NEW("dbStats", BCON_INT32(1)));
    Reply reply;
    // The size is a hint only: a failure here (privileges) does not fail the probe.
    if (mongoc_client_command_simple(client.get(), target.database.c_str(), command.get(), nullptr,
                                     &reply.doc, &error)) {
      result.data_size = number_of(&reply.doc, "dataSize");
    }
  }
  return result;
}

}  // namespace backupy::drivers::mongodb

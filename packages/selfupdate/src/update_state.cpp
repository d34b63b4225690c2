#include "backupy/selfupdate/update_state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

#include "backupy/core/files.hpp"

namespace backupy::selfupdate {
namespace {

using nlohmann::json;

std::filesystem::path state_file(const std::filesystem::path& state_dir) {
  return update_dir(state_dir) / "state.json";
}

std::optional<Phase> parse_phase(std::string_view name) {
  for (const Phase phase : {Phase::trial, Phase::confirmed, Phase::rolled_back}) {
    if (phase_name(phase) == name) return phase;
  }
  return std::nullopt;
}

// Field readers: each names the field and the expected type when it is missing or mistyped.
class Reader {
 public:
  Reader(const json& document, std::string file) : document_(document), file_(std::move(file)) {}

  const json& field(const char* name, json::value_t type, const char* type_name) const {
    const auto it = document_.find(name);
    if (it == document_.end()) fail(std::string("missing field \"") + name + "\"");
    const bool number_ok = type == json::value_t::number_unsigned && it->is_number_unsigned();
    if (it->type() != type && !number_ok) {
      fail(std::string("field \"") + name + "\" is not " + type_name);
    }
    return *it;
  }
  std::string text(const char* name) const {
    return field(name, json::value_t::string, "a string").get<std::string>();
  }
  std::uint64_t number(const char* name) const {
    return field(name, json::value_t::number_unsigned, "a non-negative integer")
        .get<std::uint64_t>();
  }
  bool flag(const char* name) const {
    return field(name, json::value_t::boolean, "true or false").get<bool>();
  }
  std::filesystem::path absolute_path(const char* name) const {
    std::filesystem::path path = text(name);
    if (!path.is_absolute()) {
      fail(std::string("field \"") + name + "\" is not an absolute path: " + path.string());
    }
    return path;
  }
  [[noreturn]] void fail(const std::string& problem) const {
    throw std::runtime_error("update state " + file_ + " is malformed: " + problem);
  }

 private:
  const json& document_;
  std::string file_;
};

}  // namespace

std::string_view phase_name(Phase phase) {
  switch (phase) {
    case Phase::trial: return "trial";
    case Phase::confirmed: return "confirmed";
    case Phase::rolled_back: return "rolled_back";
  }
  return "unknown";
}

std::filesystem::path update_dir(const std::filesystem::path& state_dir) {
  return state_dir / "update";
}

std::optional<UpdateState> load_update_state(const std::filesystem::path& state_dir) {
  const std::filesystem::path path = state_file(state_dir);
  std::optional<std::string> text;
  try {
    text = core::read_file(path);
  } catch (const std::exception& e) {
    throw std::runtime_error("update state: " + std::string(e.what()));
  }
  if (!text) return std::nullopt;
  const json document = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    throw std::runtime_error("update state " + path.string() + " is malformed: not valid JSON");
  }
  const Reader read(document, path.string());
  if (!document.is_object()) read.fail("not a JSON object");
  UpdateState state;
  const std::string phase = read.text("phase");
  const std::optional<Phase> parsed = parse_phase(phase);
  if (!parsed) {
    read.fail("unknown phase \"" + phase + "\" (expected trial, confirmed or rolled_back)");
  }
  state.phase = *parsed;
  state.version = read.text("version");
  state.binary = read.absolute_path("binary");
  state.previous_version = read.text("previous_version");
  state.previous_binary = read.absolute_path("previous_binary");
  state.trial_id = read.text("trial_id");
  state.deadline_ms = read.number("deadline_ms");
  state.changed_at_ms = read.number("changed_at_ms");
  state.reason = read.text("reason");
  state.reported = read.flag("reported");
  return state;
}

void save_update_state(const std::filesystem::path& state_dir, const UpdateState& state) {
  core::ensure_private_dir(update_dir(state_dir), 0700);
  const json document = {
      {"phase", phase_name(state.phase)},
      {"version", state.version},
      {"binary", state.binary.string()},
      {"previous_version", state.previous_version},
      {"previous_binary", state.previous_binary.string()},
      {"trial_id", state.trial_id},
      {"deadline_ms", state.deadline_ms},
      {"changed_at_ms", state.changed_at_ms},
      {"reason", state.reason},
      {"reported", state.reported},
  };
  core::write_file_atomically(state_file(state_dir), document.dump(2) + "\n", 0600,
                              core::Durability::fsync);
}

void clear_update_state(const std::filesystem::path& state_dir) {
  const std::filesystem::path path = state_file(state_dir);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return;
    throw std::system_error(errno, std::generic_category(), "cannot remove " + path.string());
  }
  // The removal is a directory change: fsync the directory so that a crash cannot bring the
  // state back (it would make the next start exec a binary that may be gone).
  const std::filesystem::path dir = update_dir(state_dir);
  const core::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot fsync " + dir.string());
  }
}

}  // namespace backupy::selfupdate

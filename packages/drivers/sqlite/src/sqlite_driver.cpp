#include "backupy/drivers/sqlite_driver.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <system_error>

#include "backupy/core/quote.hpp"
#include "backupy/drivers/sqlite_source.hpp"

namespace backupy::drivers {
namespace {

class SqliteDriver : public Driver {
 public:
  explicit SqliteDriver(const DumpContext& context)
      : target_id_(context.target.id()),
        source_{.database = context.target.connection().database(), .temp_dir = context.temp_dir} {}

  // The file must exist and be a regular file; whether it is a sound
  // database is established by the copy's quick_check during dump().
  std::string probe() override {
    if (source_.database.empty()) {
      throw DriverError("target " + target_id_ +
                        ": connection.database must name the SQLite database file");
    }
    std::error_code ec;
    const auto status = std::filesystem::status(source_.database, ec);
    if (ec || !std::filesystem::is_regular_file(status)) {
      throw DriverError("target " + target_id_ + ": sqlite database " +
                        core::quoted(source_.database.string()) + " is not a readable file" +
                        (ec ? ": " + ec.message() : ""));
    }
    size_ = std::filesystem::file_size(source_.database, ec);
    return source_.server_version();
  }

  std::optional<std::uint64_t> size_hint() const override {
    return size_ ? std::optional<std::uint64_t>(size_) : std::nullopt;
  }

  void dump(stream::ByteSink& out, std::stop_token stop) override { source_.dump(out, stop); }

 private:
  std::string target_id_;
  SqliteSource source_;
  std::uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<Driver> make_sqlite_driver(const DumpContext& context) {
  return std::make_unique<SqliteDriver>(context);
}

}  // namespace backupy::drivers

#pragma once
// The problem list of one validation run, and the only way values get into it.
#include <string>
#include <string_view>
#include <vector>

namespace backupy::config::detail {

class Report {
 public:
  // secrets: values that must never appear in a problem (target passwords).
  explicit Report(std::vector<std::string> secrets);

  // value in double quotes, ready to embed in a problem: secrets (these and
  // those registered with core::register_secret) replaced by [REDACTED] first,
  // then cut to a readable length (after redaction, so a cut never exposes a
  // secret's prefix), then quotes, backslashes and control bytes escaped.
  std::string quote(std::string_view value) const;

  void add(std::string problem) { problems_.push_back(std::move(problem)); }

  // The problems, scrubbed once more as a whole (text quoted elsewhere, such as
  // by the cron parser, and secrets registered with core::register_secret)
  // and capped in length.
  std::vector<std::string> finish() &&;

 private:
  std::vector<std::string> secrets_;  // longest first
  std::vector<std::string> problems_;
};

}  // namespace backupy::config::detail

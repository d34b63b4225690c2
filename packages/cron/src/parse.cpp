// CronExpression::parse: the CRON_TZ prefix, macros and field splitting.
#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <vector>

#include "backupy/core/quote.hpp"
#include "backupy/cron/cron.hpp"
#include "field.hpp"
#include "zone.hpp"

namespace backupy::cron {
namespace {

struct Macro {
  std::string_view name;
  std::string_view fields;
};

constexpr std::array<Macro, 7> kMacros = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && is_space(text[pos])) ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && !is_space(text[pos])) ++pos;
    if (pos > start) fields.push_back(text.substr(start, pos - start));
  }
  return fields;
}

std::optional<std::string_view> expand_macro(std::string_view name) {
  for (const Macro& macro : kMacros) {
    if (name.size() == macro.name.size() &&
        std::equal(name.begin(), name.end(), macro.name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      return macro.fields;
    }
  }
  return std::nullopt;
}

constexpr std::string_view kZonePrefix = "CRON_TZ=";

}  // namespace

std::variant<CronExpression, std::string> CronExpression::parse(std::string_view text) {
  const std::string_view trimmed = trim(text);
  if (trimmed.empty()) return std::string("cron expression is empty");
  // In cronie TZ= sets the job's environment, not the schedule's zone: refuse
  // it rather than guess, since a wrong guess shifts every run.
  if (trimmed.starts_with("TZ=")) {
    return std::string(
        "TZ= is not supported; write CRON_TZ=<zone> (e.g. CRON_TZ=Europe/Berlin 30 2 * * *) to "
        "evaluate a schedule in a time zone");
  }

  CronExpression expression;
  std::string_view body = trimmed;
  if (trimmed.starts_with(kZonePrefix)) {
    const std::string_view rest = trimmed.substr(kZonePrefix.size());
    const auto name_end =
        static_cast<std::size_t>(std::find_if(rest.begin(), rest.end(), is_space) - rest.begin());
    const std::string_view name = rest.substr(0, name_end);
    if (name.empty()) {
      return std::string("CRON_TZ= needs a time zone name, e.g. CRON_TZ=Europe/Berlin 30 2 * * *");
    }
    auto zone = detail::find_zone(name);
    if (auto* error = std::get_if<std::string>(&zone)) return std::move(*error);
    expression.zone_ = std::get<const date::time_zone*>(zone);
    expression.zone_name_ = std::string(name);
    body = trim(rest.substr(name_end));
    if (body.empty()) {
      return "cron expression " + core::quoted(trimmed) + " has no schedule after the time zone";
    }
  }

  if (body.front() == '@') {
    const std::optional<std::string_view> expansion = expand_macro(body);
    if (!expansion) {
      return "unknown cron macro " + core::quoted(body) +
             " (expected one of @yearly @annually @monthly @weekly @daily @midnight @hourly)";
    }
    body = *expansion;
  }

  const std::vector<std::string_view> fields = split_fields(body);
  if (fields.size() != 5 && fields.size() != 6) {
    return "cron expression " + core::quoted(trimmed) + " has " + std::to_string(fields.size()) +
           " fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (second "
           "minute hour day-of-month month day-of-week)";
  }

  // Without a seconds field, jobs fire at second 0.
  const bool has_seconds = fields.size() == 6;
  static constexpr std::array<const detail::FieldSpec*, 6> kSpecs = {
      &detail::kSecondField,     &detail::kMinuteField, &detail::kHourField,
      &detail::kDayOfMonthField, &detail::kMonthField,  &detail::kDayOfWeekField};
  std::array<detail::ParsedField, 6> parsed;
  parsed[0].values.set(0);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::size_t slot = has_seconds ? i : i + 1;
    auto result = detail::parse_field(fields[i], *kSpecs[slot]);
    if (auto* error = std::get_if<std::string>(&result)) return std::move(*error);
    parsed[slot] = std::get<detail::ParsedField>(result);
  }

  expression.text_ = std::string(trimmed);
  expression.seconds_ = parsed[0].values;
  expression.minutes_ = parsed[1].values;
  expression.hours_ = parsed[2].values;
  expression.days_of_month_ = parsed[3].values;
  expression.months_ = parsed[4].values;
  expression.days_of_week_ = parsed[5].values;
  expression.day_of_month_unrestricted_ = parsed[3].unrestricted;
  expression.day_of_week_unrestricted_ = parsed[5].unrestricted;
  // cronie's "fixed-time job": neither the minute nor the hour is a wildcard.
  expression.fixed_time_ = !parsed[1].unrestricted && !parsed[2].unrestricted;
  return expression;
}

}  // namespace backupy::cron

#include "field.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>

#include "backupy/core/quote.hpp"

namespace backupy::cron::detail {
namespace {

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

// A value or an error detail ("25 is out of range 0-23"); the caller adds the
// field name and text.
using ValueOrError = std::variant<int, std::string>;

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool all_letters(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isalpha(c); });
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

std::string range_text(const FieldSpec& spec) {
  return std::to_string(spec.min) + "-" + std::to_string(spec.max);
}

ValueOrError parse_value(std::string_view text, const FieldSpec& spec) {
  if (all_digits(text)) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    // Overflow is just a very large number: report it like any other.
    if (ec != std::errc{} || end != text.data() + text.size() || value < spec.min ||
        value > spec.max) {
      return std::string(text) + " is out of range " + range_text(spec);
    }
    return value;
  }
  if (!spec.names.empty() && all_letters(text)) {
    for (std::size_t i = 0; i < spec.names.size(); ++i) {
      if (equals_ignoring_case(text, spec.names[i])) {
        return spec.first_named_value + static_cast<int>(i);
      }
    }
    return "unknown " + std::string(spec.name_kind) + " name " + core::quoted(text) +
           " (expected " + std::string(spec.names.front()) + "-" + std::string(spec.names.back()) +
           ")";
  }
  return core::quoted(text) +
         (spec.names.empty() ? " is not a number" : " is not a number or a name");
}

ValueOrError parse_step(std::string_view text) {
  if (text.empty()) return std::string("missing step after '/'");
  int step = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), step);
  if (!all_digits(text) || end != text.data() + text.size()) {
    return "step " + core::quoted(text) + " is not a number";
  }
  if (ec != std::errc{}) return "step " + std::string(text) + " is too large";
  if (step == 0) return std::string("step 0 is not allowed; a step must be at least 1");
  return step;
}

// Adds the values of one list element ("*/15", "MON-FRI", "7") to `out`;
// returns an error detail on failure.
std::optional<std::string> add_element(std::string_view element, const FieldSpec& spec,
                                       ValueSet& out) {
  if (element.empty()) return "empty list element";

  const std::size_t slash = element.find('/');
  const bool has_step = slash != std::string_view::npos;
  const std::string_view base = element.substr(0, slash);
  int step = 1;
  if (has_step) {
    ValueOrError parsed = parse_step(element.substr(slash + 1));
    if (auto* error = std::get_if<std::string>(&parsed)) return *error;
    step = std::get<int>(parsed);
  }

  int low = 0;
  int high = 0;
  if (base == "*" || base == "?") {
    low = spec.min;
    high = spec.star_max;
  } else if (const std::size_t dash = base.find('-'); dash != std::string_view::npos) {
    const std::string_view first = base.substr(0, dash);
    const std::string_view last = base.substr(dash + 1);
    if (first.empty() || last.empty()) {
      return "range " + core::quoted(base) + " needs a start and an end";
    }
    ValueOrError from = parse_value(first, spec);
    if (auto* error = std::get_if<std::string>(&from)) return *error;
    ValueOrError to = parse_value(last, spec);
    if (auto* error = std::get_if<std::string>(&to)) return *error;
    low = std::get<int>(from);
    high = std::get<int>(to);
    if (low > high) {
      return "range " + std::string(base) + " is reversed (start " + std::to_string(low) +
             " is after end " + std::to_string(high) + ")";
    }
  } else {
    if (base.empty()) return "missing value before '/'";
    ValueOrError value = parse_value(base, spec);
    if (auto* error = std::get_if<std::string>(&value)) return *error;
    low = std::get<int>(value);
    // "a/n" runs from a to the end of the field, like "a-max/n".
    high = has_step ? std::max(low, spec.star_max) : low;
  }

  for (int value = low;; value += step) {
    out.set(static_cast<std::size_t>(spec.seven_is_sunday && value == 7 ? 0 : value));
    if (high - value < step) break;  // checked before adding: a huge step must not overflow
  }
  return std::nullopt;
}

}  // namespace

const FieldSpec kSecondField{.name = "second", .min = 0, .max = 59, .star_max = 59};
const FieldSpec kMinuteField{.name = "minute", .min = 0, .max = 59, .star_max = 59};
const FieldSpec kHourField{.name = "hour", .min = 0, .max = 23, .star_max = 23};
const FieldSpec kDayOfMonthField{.name = "day-of-month", .min = 1, .max = 31, .star_max = 31};
const FieldSpec kMonthField{.name = "month",
                            .min = 1,
                            .max = 12,
                            .star_max = 12,
                            .names = kMonthNames,
                            .first_named_value = 1,
                            .name_kind = "month"};
const FieldSpec kDayOfWeekField{.name = "day-of-week",
                                .min = 0,
                                .max = 7,
                                .star_max = 6,
                                .names = kDayNames,
                                .first_named_value = 0,
                                .name_kind = "day",
                                .seven_is_sunday = true};

std::variant<ParsedField, std::string> parse_field(std::string_view text, const FieldSpec& spec) {
  ParsedField field;
  field.unrestricted = text.starts_with('*') || text.starts_with('?');
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view element = text.substr(start, comma - start);
    if (auto error = add_element(element, spec, field.values)) {
      return "cron field '" + std::string(spec.name) + "' (value " + core::quoted(text) +
             "): " + *error;
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return field;
}

}  // namespace backupy::cron::detail

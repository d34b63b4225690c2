#pragma once
// Parsing of one cron field (e.g. "1-5,10/15") into the set of values it matches.
#include <bitset>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace backupy::cron::detail {

using ValueSet = std::bitset<64>;

// What one field position accepts.
struct FieldSpec {
  std::string_view name;  // as shown in errors: "day-of-week"
  int min;
  int max;       // the largest value a user may write (7 for day-of-week)
  int star_max;  // where '*' and "a/n" end (6 for day-of-week: 7 is only an alias)
  // Names accepted instead of numbers; names[i] stands for first_named_value + i.
  std::span<const std::string_view> names = {};
  int first_named_value = 0;
  std::string_view name_kind = {};  // "month" / "day", for "unknown day name"
  bool seven_is_sunday = false;     // fold 7 onto 0 after parsing
};

extern const FieldSpec kSecondField;
extern const FieldSpec kMinuteField;
extern const FieldSpec kHourField;
extern const FieldSpec kDayOfMonthField;
extern const FieldSpec kMonthField;
extern const FieldSpec kDayOfWeekField;

struct ParsedField {
  ValueSet values;
  // The text began with '*' or '?': Vixie's test for the day-of-month /
  // day-of-week OR rule.
  bool unrestricted = false;
};

// The parsed field, or a full error line:
//   cron field 'hour' (value "25"): 25 is out of range 0-23
std::variant<ParsedField, std::string> parse_field(std::string_view text, const FieldSpec& spec);

}  // namespace backupy::cron::detail

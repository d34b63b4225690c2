#pragma once
// Cron schedules for agent-side job scheduling, evaluated in UTC.
//
// Grammar: 5 fields (minute hour day-of-month month day-of-week), or 6 with a
// leading seconds field, or one of the macros @yearly @annually @monthly
// @weekly @daily @midnight @hourly. Each field is a comma list of '*', '?'
// (same as '*'), a value, a range a-b, or a step */n, a-b/n, a/n (a up to the
// field's maximum). Month names JAN-DEC and day names SUN-SAT are accepted in
// any case; day-of-week takes 0-7 where both 0 and 7 are Sunday.
//
// Day matching follows Vixie cron: when both day-of-month and day-of-week are
// restricted, a day matches if either one does; a field whose text begins with
// '*' or '?' (including "*/2") counts as unrestricted, exactly as in Vixie.
#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace backupy::cron {

class CronExpression {
 public:
  // Returns the parsed expression, or an error line naming the offending field,
  // e.g. "cron field 'hour' (value \"25\"): 25 is out of range 0-23". Invalid
  // input never throws: configs come from the server and must be reported, not
  // crash the agent.
  static std::variant<CronExpression, std::string> parse(std::string_view text);

  // The first fire time strictly after `after` (UTC), or nullopt if there is
  // none within five years (e.g. "0 0 30 2 *"), or if `after` lies outside the
  // years 1-9999.
  std::optional<std::chrono::sys_seconds> next_after(std::chrono::sys_seconds after) const;

  // The expression as given, without surrounding whitespace.
  const std::string& text() const { return text_; }

 private:
  // One bit per allowed value: seconds/minutes 0-59, hours 0-23, days of month
  // 1-31, months 1-12, days of week 0-6 (Sunday = 0).
  using ValueSet = std::bitset<64>;

  CronExpression() = default;
  bool day_matches(std::chrono::year_month_day date) const;

  std::string text_;
  ValueSet seconds_;
  ValueSet minutes_;
  ValueSet hours_;
  ValueSet days_of_month_;
  ValueSet months_;
  ValueSet days_of_week_;
  bool day_of_month_unrestricted_ = true;
  bool day_of_week_unrestricted_ = true;
};

}  // namespace backupy::cron

// Early-return helpers for absl::Status / absl::StatusOr, which abseil 20220623 lacks.
#ifndef BERTH_COMMON_STATUS_MACROS_H_
#define BERTH_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#define BERTH_STATUS_CONCAT_INNER_(a, b) a##b
#define BERTH_STATUS_CONCAT_(a, b) BERTH_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) once and returns it from the caller if it is not OK.
#define RETURN_IF_ERROR(expr)                                                             \
  do {                                                                                    \
    if (::absl::Status berth_status_ = (expr); !berth_status_.ok()) return berth_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F())` declares x from F()'s value, or returns F()'s error.
// `lhs` may also be an existing lvalue.
#define ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL_(BERTH_STATUS_CONCAT_(berth_statusor_, __LINE__), lhs, expr)

#define BERTH_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)  \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

namespace berth {

// Returns `status` with `context` prepended to its message ("context: message"), keeping the
// code. Each layer adds the context it knows, so the final text reads outermost first.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace berth

#endif  // BERTH_COMMON_STATUS_MACROS_H_

// A pseudo-terminal made inside the container (from its own devpts), whose master end goes to
// the caller over the console socket, as runc does. The slave becomes the process's stdio and
// controlling terminal.
#ifndef BERTH_RUNTIME_LINUX_CONSOLE_H_
#define BERTH_RUNTIME_LINUX_CONSOLE_H_

#include <optional>

#include "absl/status/status.h"
#include "runtime/spec.h"

namespace berth::runtime {

// Call after setsid(). `bind_dev_console`: also bind the slave over /dev/console (init only).
absl::Status SetupConsole(int console_socket, const std::optional<ConsoleSize>& size,
                          bool bind_dev_console);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_CONSOLE_H_

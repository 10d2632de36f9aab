#include "runtime/linux/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <termios.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/syscall.h"
#include "common/unique_fd.h"
#include "runtime/linux/channel.h"

namespace berth::runtime {

absl::Status SetupConsole(int console_socket, const std::optional<ConsoleSize>& size,
                          bool bind_dev_console) {
  int m = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return ErrnoStatus("open(/dev/ptmx)", errno);
  UniqueFd master(m);
  int unlock = 0;
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) != 0)
    return ErrnoStatus("ioctl(TIOCSPTLCK)", errno);
  int n = 0;
  if (::ioctl(master.get(), TIOCGPTN, &n) != 0) return ErrnoStatus("ioctl(TIOCGPTN)", errno);
  const std::string name = absl::StrCat("/dev/pts/", n);
  // TIOCGPTPEER opens the slave from the master itself: no path lookup that a container
  // could redirect.
  int s = ::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (s < 0) return ErrnoStatus("ioctl(TIOCGPTPEER)", errno);
  UniqueFd slave(s);
  if (size && size->width > 0 && size->height > 0) {
    winsize ws{.ws_row = static_cast<unsigned short>(size->height),
               .ws_col = static_cast<unsigned short>(size->width),
               .ws_xpixel = 0,
               .ws_ypixel = 0};
    if (::ioctl(master.get(), TIOCSWINSZ, &ws) != 0) return ErrnoStatus("ioctl(TIOCSWINSZ)", errno);
  }
  if (bind_dev_console) {
    // Mounted through an fd opened without following links: an image's /dev/console symlink
    // must not choose where the pty gets bound.
    int c = ::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (c < 0) return ErrnoStatus("open(/dev/console, O_NOFOLLOW)", errno);
    UniqueFd console(c);
    const std::string at = absl::StrCat("/proc/self/fd/", console.get());
    const std::string from = absl::StrCat("/proc/self/fd/", slave.get());
    if (::mount(from.c_str(), at.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return ErrnoStatus(absl::StrCat("mount(", name, ", /dev/console)"), errno);
    }
  }
  if (absl::Status st = SendFd(console_socket, master.get(), name); !st.ok()) return st;
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return ErrnoStatus("ioctl(TIOCSCTTY)", errno);
  for (int fd = 0; fd <= 2; ++fd) {
    if (::dup3(slave.get(), fd, 0) != fd) return ErrnoStatus("dup3(pty, stdio)", errno);
  }
  return absl::OkStatus();
}

}  // namespace berth::runtime

// Small messages between berth-runtime and the container processes it starts, one per packet
// on a SOCK_SEQPACKET socket: "ready", "mapped", "error <text>", and fds by SCM_RIGHTS.
#ifndef BERTH_RUNTIME_LINUX_CHANNEL_H_
#define BERTH_RUNTIME_LINUX_CHANNEL_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace berth::runtime {

absl::Status SendMessage(int fd, const std::string& message);
// NOT_FOUND-free: an orderly close by the peer is UNAVAILABLE "peer closed".
absl::StatusOr<std::string> ReceiveMessage(int fd);

// Sends an error status as "error <message>"; the receiver turns it back with ParseReply.
absl::Status SendStatus(int fd, const absl::Status& status);
// "ready"/"mapped"/… → OK with the word; "error <text>" → that error.
absl::StatusOr<std::string> ParseReply(const std::string& message);

// Sends `fd` with `name` as the payload (what runc's console socket carries).
absl::Status SendFd(int socket, int fd, const std::string& name);
absl::StatusOr<UniqueFd> ReceiveFd(int socket, std::string* name);

// Connects a SOCK_STREAM unix socket to `path`, however long the path is (via its directory).
absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path, int type);
// Binds and listens on `path` (via its directory, so long paths work too).
absl::StatusOr<UniqueFd> ListenUnix(const std::string& path, int type);

}  // namespace berth::runtime

#endif  // BERTH_RUNTIME_LINUX_CHANNEL_H_

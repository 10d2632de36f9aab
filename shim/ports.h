// Published ports (berth run -p): the shim listens on the host's address and relays to the
// container's in userspace, so that publishing needs no iptables and lasts as long as the
// container, across daemon restarts, like the shim itself.
//
// It keeps an epoll fd of its own, which the shim's loop watches like any other: readable
// while some socket of the forwarder is ready, and then OnReady does that work without
// blocking. One thread, as everything in the shim.
//
// TCP: each accepted connection gets a nonblocking connect to the container's address and a
// bounded buffer per direction (read from a side only while its peer's buffer has room), EOF
// passed on as shutdown(SHUT_WR) once the buffer has drained, errors and resets closing both
// sides (with a reset). A connect that fails resets the client.
// UDP: one host socket; per client address, a socket connected to the container (made on its
// first datagram), whose replies go back from the host socket; idle flows expire.
#ifndef BERTH_SHIM_PORTS_H_
#define BERTH_SHIM_PORTS_H_

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "berth/shim/v1/shim.pb.h"
#include "common/unique_fd.h"

namespace berth::shim {

struct PortLimits {
  // TCP connections at once, over all ports; one more is accepted and reset at once.
  size_t max_connections = 1024;
  // UDP flows (client addresses) at once, over all ports; a new one evicts the least recent.
  size_t max_flows = 1024;
  // A UDP flow with no datagram either way for this long ends (checked every quarter of it).
  int64_t flow_idle_ms = 60000;
  // Per direction of a TCP connection.
  size_t buffer = 64 * 1024;
};

using PortList = google::protobuf::RepeatedPtrField<v1::PortForward>;

class PortForwarder {
 public:
  explicit PortForwarder(PortLimits limits = {});
  ~PortForwarder();
  PortForwarder(const PortForwarder&) = delete;
  PortForwarder& operator=(const PortForwarder&) = delete;

  // Binds every port (nonblocking, close-on-exec; SO_REUSEADDR for TCP) and appends each as
  // bound to `bound`, or binds none: INVALID_ARGUMENT for a malformed mapping,
  // FAILED_PRECONDITION when a port cannot be bound ("port 127.0.0.1:8080/tcp is already in
  // use (bind: Address already in use)"). Replaces whatever was open before.
  absl::Status Open(const PortList& ports, PortList* bound);
  // Readable while there is work for OnReady; -1 while no port is open.
  int fd() const { return epoll_.get(); }
  // Accepts, relays and expires what is ready, a bounded amount of it, without blocking.
  void OnReady();
  // Closes the listeners, every connection (reset) and every flow.
  void Close();

  size_t connections() const { return relay_count_; }
  size_t flows() const { return flows_.size(); }

 private:
  struct Listener {
    UniqueFd fd;
    bool udp = false;
    sockaddr_in target{};
    bool paused = false;  // out of fds: not accepting until something closes
  };
  struct Relay;
  struct Flow {
    UniqueFd fd;  // connected to the container
    int listener = -1;
    sockaddr_in client{};
    int64_t last = 0;  // ms, CLOCK_MONOTONIC
  };
  using FlowKey = std::tuple<int, uint32_t, uint16_t>;  // listener fd, client address and port

  void OnAccept(Listener& l);
  void OnDatagram(Listener& l);
  void OnReply(Flow& f);
  void OnTimer();
  void Pump(const std::shared_ptr<Relay>& r);
  // Updates what epoll watches on one side of a relay: nothing at all while nothing is
  // wanted, so that a hung-up socket cannot wake the loop over and over.
  void Want(Relay& r, int side, uint32_t events);
  void Drop(Relay& r, bool reset);
  Flow* NewFlow(Listener& l, const sockaddr_in& client);
  void DropFlow(int fd);
  void PauseListeners(bool paused);
  void ArmTimer();

  PortLimits limits_;
  UniqueFd epoll_, timer_;
  bool timer_armed_ = false;
  std::map<int, Listener> listeners_;
  std::map<int, std::shared_ptr<Relay>> relays_;  // by both of its fds
  size_t relay_count_ = 0;
  std::map<int, Flow> flows_;  // by the fd connected to the container
  std::map<FlowKey, int> flow_of_;
};

}  // namespace berth::shim

#endif  // BERTH_SHIM_PORTS_H_

#include "dataplane/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "test/harness/process.h"

namespace npc::dataplane {

std::string NetnsPath(const std::string& name) {
  return !name.empty() && name[0] == '/' ? name : "/run/netns/" + name;
}

bool NetnsExists(const std::string& name) {
  struct stat st{};
  return ::stat(NetnsPath(name).c_str(), &st) == 0;
}

StatusOr<NetnsGuard> NetnsGuard::Enter(const std::string& name) {
  const int back = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (back < 0) return Internal(std::string("open /proc/thread-self/ns/net: ") + strerror(errno));
  const std::string path = NetnsPath(name);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    ::close(back);
    return NotFound("network namespace " + path + ": " + strerror(e));
  }
  const int rc = ::setns(fd, CLONE_NEWNET);
  const int e = errno;
  ::close(fd);
  if (rc != 0) {
    ::close(back);
    return Internal("setns " + path + ": " + strerror(e));
  }
  return NetnsGuard(back);
}

NetnsGuard::~NetnsGuard() {
  if (back_ < 0) return;
  if (::setns(back_, CLONE_NEWNET) != 0) {
    // A thread stuck in a pod's namespace would send later traffic from the
    // wrong place: nothing sane can continue.
    std::abort();
  }
  ::close(back_);
}

Status Run(const std::vector<std::string>& argv) {
  harness::RunOptions o;
  o.timeout = std::chrono::seconds(30);
  StatusOr<harness::ProcessResult> r = harness::RunProcess(argv, o);
  if (!r.ok()) return r.status();
  if (!r->ok()) {
    std::string cmd;
    for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return Internal(cmd + ": " + r->Describe());
  }
  return Status::Ok();
}

void RunQuietly(const std::vector<std::string>& argv) { (void)Run(argv); }

}  // namespace npc::dataplane

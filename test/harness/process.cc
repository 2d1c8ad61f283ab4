#include "test/harness/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>

extern char** environ;

namespace npc::harness {
namespace {

// Owns a file descriptor; closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  void Reset(int fd) {
    Close();
    fd_ = fd;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Status Errno(const std::string& what) {
  return Internal(what + ": " + std::strerror(errno));
}

// pipe2 with close-on-exec: the child gets only the ends dup2'ed onto 0/1/2.
Status MakePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe2");
  read_end.Reset(fds[0]);
  write_end.Reset(fds[1]);
  return Status::Ok();
}

std::string Tail(const std::string& s, size_t max) {
  return s.size() <= max ? s : "..." + s.substr(s.size() - max);
}

}  // namespace

std::string ProcessResult::Describe() const {
  return "exit " + std::to_string(exit_code) + "\nstdout: " + Tail(out, 4000) +
         "\nstderr: " + Tail(err, 4000);
}

StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                   const RunOptions& options) {
  if (argv.empty()) return InvalidArgument("RunProcess: empty argv");
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { ::signal(SIGPIPE, SIG_IGN); });

  Fd in_r, in_w, out_r, out_w, err_r, err_w;
  NPC_RETURN_IF_ERROR(MakePipe(in_r, in_w));
  NPC_RETURN_IF_ERROR(MakePipe(out_r, out_w));
  NPC_RETURN_IF_ERROR(MakePipe(err_r, err_w));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc == ENOENT) return NotFound(argv[0] + ": not found in PATH");
  if (rc != 0) return Internal("posix_spawnp " + argv[0] + ": " + std::strerror(rc));
  in_r.Close();
  out_w.Close();
  err_w.Close();

  ProcessResult result;
  size_t written = 0;
  if (options.stdin_data.empty()) in_w.Close();
  if (in_w.get() >= 0) ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool timed_out = false;
  std::array<char, 65536> buf;
  while (out_r.get() >= 0 || err_r.get() >= 0) {
    std::array<pollfd, 3> fds = {pollfd{out_r.get(), POLLIN, 0}, pollfd{err_r.get(), POLLIN, 0},
                                 pollfd{in_w.get(), POLLOUT, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return Errno("poll");
    }
    if (n <= 0) continue;
    if (fds[2].revents != 0) {
      ssize_t w = ::write(in_w.get(), options.stdin_data.data() + written,
                          options.stdin_data.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      // Done, or the child closed its stdin (EPIPE): either way stop feeding it.
      if (written == options.stdin_data.size() || (w < 0 && errno != EAGAIN)) in_w.Close();
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      Fd& fd = i == 0 ? out_r : err_r;
      std::string& sink = i == 0 ? result.out : result.err;
      ssize_t r = ::read(fd.get(), buf.data(), buf.size());
      if (r > 0) {
        sink.append(buf.data(), static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        fd.Close();
      }
    }
  }
  in_w.Close();
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return Errno("waitpid");
  }
  if (timed_out) {
    return Status(StatusCode::kDeadlineExceeded,
                  argv[0] + " did not finish within " + std::to_string(options.timeout.count()) +
                      " ms; killed. stderr so far: " + Tail(result.err, 2000));
  }
  if (WIFEXITED(wstatus)) {
    result.exit_code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    result.exit_code = 128 + WTERMSIG(wstatus);
  }
  return result;
}

}  // namespace npc::harness

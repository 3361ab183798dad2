// SPDX-License-Identifier: BSL-1.0
#include "process.hpp"

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace test {
namespace fs = std::filesystem;

TempDir::TempDir()
{
    std::string pattern = (fs::temp_directory_path() / "wix-inbox-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
        throw std::runtime_error("cannot create a temporary directory");
    path = pattern;
}

TempDir::~TempDir()
{
    std::error_code ignored;
    fs::remove_all(path, ignored);
}

namespace {

// exe and args as execve() takes them; `storage` keeps the strings.
std::vector<char*> argvOf(const std::string& exe, const std::vector<std::string>& args,
                          std::vector<std::string>& storage)
{
    storage = {exe};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : storage)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    return argv;
}

} // namespace

pid_t spawn(const std::string& exe, const std::vector<std::string>& args, const fs::path& dir,
            const ChildOptions& options)
{
    // Everything the child needs is made before fork(): after it, only async-signal-safe calls.
    std::vector<std::string> storage;
    const auto argv = argvOf(exe, args, storage);
    const std::string out = (dir / "stdout").string(), err = (dir / "stderr").string();
    const std::string in = options.stdinFile.empty() ? "/dev/null" : options.stdinFile;
    std::vector<std::string> variables(options.environment);
    for (char** e = environ; *e; ++e) {
        const std::string_view v(*e);
        const auto name = v.substr(0, v.find('=') + 1);
        if (std::none_of(options.environment.begin(), options.environment.end(),
                         [&](const std::string& o) { return o.starts_with(name); }))
            variables.emplace_back(v);
    }
    std::vector<char*> envp;
    for (auto& v : variables)
        envp.push_back(v.data());
    envp.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        const int fds[] = {::open(in.c_str(), O_RDONLY), ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644),
                           ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644)};
        for (int i = 0; i < 3; ++i)
            if (fds[i] < 0 || ::dup2(fds[i], i) < 0)
                ::_exit(126);
        if (options.maxOpenFiles) {
            const rlimit l{*options.maxOpenFiles, *options.maxOpenFiles};
            ::setrlimit(RLIMIT_NOFILE, &l);
        }
        if (options.maxFileBytes) {
            ::signal(SIGXFSZ, SIG_IGN);
            const rlimit l{*options.maxFileBytes, *options.maxFileBytes};
            ::setrlimit(RLIMIT_FSIZE, &l);
        }
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    return pid;
}

std::string runInTerminal(const std::string& exe, const std::vector<std::string>& args, unsigned short columns,
                          int& status)
{
    std::vector<std::string> storage;
    const auto argv = argvOf(exe, args, storage);
    winsize size{};
    size.ws_col = columns;
    size.ws_row = 24;
    int master = -1;
    const pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
    if (pid < 0)
        throw std::runtime_error("forkpty failed");
    if (pid == 0) {
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    std::string screen;
    char chunk[4096];
    for (ssize_t n; (n = ::read(master, chunk, sizeof chunk)) > 0;) // EIO once the child has ended
        screen.append(chunk, static_cast<std::size_t>(n));
    ::close(master);
    status = waitExit(pid);
    return screen;
}

int waitExit(pid_t pid)
{
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int waitExitWithin(pid_t pid, std::chrono::milliseconds limit)
{
    const auto giveUp = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (std::chrono::steady_clock::now() >= giveUp) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10)); // polling a child: no event to wait on
    }
}

std::string slurp(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace test

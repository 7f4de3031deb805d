#pragma once

#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

// Test helpers that look at this process from the outside, through /proc: its open descriptors
// and its children. Header-only test fixture code (not a source of another folder).
namespace probe {

inline int openFdCount()
{
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (dirent* e = readdir(d))
            n += e->d_name[0] != '.';
        closedir(d);
    }
    return n - 1; // the descriptor of the directory listing itself
}

// The descriptors open, in order (without the one that lists them).
inline std::vector<int> openFds()
{
    std::vector<int> fds;
    if (DIR* d = opendir("/proc/self/fd")) {
        const int own = dirfd(d);
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] == '.')
                continue;
            const int fd = std::atoi(e->d_name);
            if (fd != own)
                fds.push_back(fd);
        }
        closedir(d);
    }
    std::sort(fds.begin(), fds.end());
    return fds;
}

// An RLIMIT_NOFILE under which exactly `room` more descriptors can be opened now (a new
// descriptor takes the lowest free number, and fails with EMFILE at the limit).
inline int fdLimitLeaving(int room)
{
    const std::vector<int> open = openFds();
    int limit = 0;
    std::size_t below = 0; // open descriptors below limit
    while (true) {
        while (below < open.size() && open[below] < limit)
            ++below;
        if (limit - int(below) == room)
            return limit;
        ++limit;
    }
}

struct ProcInfo
{
    int pid = 0;
    int ppid = 0;
    char state = '?';
};

inline std::vector<ProcInfo> allProcesses()
{
    std::vector<ProcInfo> out;
    DIR* d = opendir("/proc");
    if (!d)
        return out;
    while (dirent* e = readdir(d)) {
        const int pid = std::atoi(e->d_name);
        if (pid <= 0)
            continue;
        std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
        std::string line;
        if (!std::getline(f, line))
            continue;
        const auto close = line.rfind(')');
        if (close == std::string::npos)
            continue;
        std::istringstream rest(line.substr(close + 2));
        ProcInfo p;
        p.pid = pid;
        rest >> p.state >> p.ppid;
        out.push_back(p);
    }
    closedir(d);
    return out;
}

// Children of `parent` (default: this process), zombies included.
inline std::vector<ProcInfo> childrenOf(int parent = getpid())
{
    std::vector<ProcInfo> out;
    for (const auto& p : allProcesses())
        if (p.ppid == parent)
            out.push_back(p);
    return out;
}

// Every descendant of this process (children, grandchildren, ...).
inline std::vector<ProcInfo> descendants()
{
    const auto all = allProcesses();
    std::vector<ProcInfo> out;
    std::vector<int> frontier{getpid()};
    while (!frontier.empty()) {
        const int parent = frontier.back();
        frontier.pop_back();
        for (const auto& p : all) {
            if (p.ppid == parent) {
                out.push_back(p);
                frontier.push_back(p.pid);
            }
        }
    }
    return out;
}

} // namespace probe

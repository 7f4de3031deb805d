#include "tracefile.h"

#include "tracereader.h"
#include "tracewriter.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

// The format (see TraceWriter and TraceArgs for the details): {"traceEvents": [...],
// "displayTimeUnit": "ms", "otherData": {tool, version, api, func, items, workers, chunksize,
// start_method, seed, time_scale, main_pid}}. ts / dur are fractional microseconds from the
// run's earliest event; reading back gives tNs = ts * 1000 (so the run starts at 0). A tuple
// value is {"tuple": [...]}, a non-finite float {"float": "nan" | "inf" | "-inf"}.

namespace poolscope {

namespace {

std::string osError(int err)
{
    return std::strerror(err);
}

std::string cannotWrite(const std::string& path, const std::string& why)
{
    return "cannot write trace file '" + path + "': " + why;
}

// A temporary file next to the target ("dir/.name.XXXXXX"), removed unless committed, so
// that a failed or interrupted write never leaves anything behind.
class TempFile
{
public:
    explicit TempFile(const std::string& target) : m_target(target)
    {
        const auto slash = target.rfind('/');
        const std::string dir = slash == std::string::npos ? "." : target.substr(0, slash + 1);
        const std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
        if (base.empty())
            throw TraceError(cannotWrite(target, "the path names a directory"));
        m_path = (slash == std::string::npos ? std::string() : dir) + "." + base + ".XXXXXX";
        m_fd = ::mkostemp(m_path.data(), O_CLOEXEC);
        if (m_fd < 0) {
            const int err = errno;
            throw TraceError(
                cannotWrite(target, "cannot create a file in '" + dir + "': " + osError(err)));
        }
    }
    ~TempFile()
    {
        if (m_fd >= 0)
            ::close(m_fd);
        if (!m_committed)
            ::unlink(m_path.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    void write(const std::string& data)
    {
        const char* p = data.data();
        std::size_t left = data.size();
        while (left > 0) {
            const ssize_t n = ::write(m_fd, p, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                fail("write failed");
            p += n;
            left -= std::size_t(n);
        }
    }

    // Makes the data durable, then puts the file in place in one rename.
    void commit()
    {
        if (::fchmod(m_fd, 0644) != 0)
            fail("chmod failed");
        if (::fsync(m_fd) != 0)
            fail("fsync failed");
        const int fd = m_fd;
        m_fd = -1;
        if (::close(fd) != 0)
            fail("close failed");
        if (::rename(m_path.c_str(), m_target.c_str()) != 0)
            fail("rename failed");
        m_committed = true;
    }

private:
    [[noreturn]] void fail(const char* what)
    {
        const int err = errno;
        throw TraceError(cannotWrite(m_target, std::string(what) + ": " + osError(err)));
    }

    std::string m_target;
    std::string m_path;
    int m_fd = -1;
    bool m_committed = false;
};

} // namespace

void TraceFile::checkWritable(const std::string& path)
{
    if (path.empty())
        throw TraceError("cannot write trace file: the path is empty");
    struct stat st
    {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        throw TraceError(cannotWrite(path, "it is a directory"));
    // What write() needs is exactly this: a new file in the target's directory.
    TempFile probe(path);
}

void TraceFile::write(const std::string& path, const EventLog& log, const TraceMetadata& meta)
{
    checkWritable(path);
    const std::string json = toJson(log, meta);
    TempFile file(path);
    file.write(json);
    file.commit();
}

std::string TraceFile::toJson(const EventLog& log, const TraceMetadata& meta)
{
    return TraceWriter::toJson(log, meta);
}

Trace TraceFile::read(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        throw TraceError("cannot read trace file '" + path + "': " + osError(err));
    }
    std::string text;
    char buf[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            throw TraceError("cannot read trace file '" + path + "': " + osError(err));
        }
        if (n == 0)
            break;
        text.append(buf, std::size_t(n));
    }
    ::close(fd);
    try {
        return fromJson(text);
    } catch (const TraceError& e) {
        throw TraceError("trace file '" + path + "': " + e.what());
    }
}

Trace TraceFile::fromJson(const std::string& json)
{
    return TraceReader::fromJson(json);
}

} // namespace poolscope

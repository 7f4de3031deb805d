#pragma once

#include "processprobe.h"

#include <QtTest>

// Test fixture code (header-only): no descriptor and no process left behind by a test. Take the
// baseline in init(), check it in cleanup(). Start the fork server (which lives as long as the
// process, like CPython's) before the first baseline.
class Hygiene
{
public:
    void baseline()
    {
        m_fds = probe::openFdCount();
        m_descendants = probe::descendants().size();
    }
    void check() const
    {
        QCOMPARE(probe::openFdCount(), m_fds);
        std::size_t left = probe::descendants().size();
        for (int i = 0; i < 200 && left != m_descendants; ++i) {
            QTest::qWait(10); // a forkserver child is reaped by the server, asynchronously
            left = probe::descendants().size();
        }
        QCOMPARE(left, m_descendants);
        for (const auto& p : probe::descendants())
            QVERIFY2(p.state != 'Z', "zombie left behind");
    }

private:
    int m_fds = 0;
    std::size_t m_descendants = 0;
};

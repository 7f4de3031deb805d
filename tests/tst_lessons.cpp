// Every scenario of the catalog has its lesson and its Python program among the resources, with
// the lesson's four parts, and the Python program is valid Python.
#include "scenariocatalog.h"

#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QtTest>

using namespace poolscope;

class TestLessons : public QObject
{
    Q_OBJECT

private:
    static QString resource(const QString& path)
    {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly))
            return {};
        return QString::fromUtf8(f.readAll());
    }

private slots:
    void everyScenarioHasALesson_data()
    {
        QTest::addColumn<QString>("id");
        const auto catalog = ScenarioCatalog::article();
        for (const auto& s : catalog.all())
            QTest::newRow(s->id().c_str()) << QString::fromStdString(s->id());
    }

    void everyScenarioHasALesson()
    {
        QFETCH(QString, id);
        const QString lesson = resource(":/lessons/" + id + ".md");
        QVERIFY2(!lesson.isEmpty(), qPrintable("no lesson :/lessons/" + id + ".md"));
        QVERIFY(lesson.startsWith("# "));
        for (const char* part :
             {"## What to watch", "## Why it happens", "## Rule of thumb", "## Interview question"})
            QVERIFY2(lesson.contains(part), qPrintable(id + " lacks " + part));
    }

    void everyScenarioHasItsPythonProgram_data() { everyScenarioHasALesson_data(); }

    void everyScenarioHasItsPythonProgram()
    {
        QFETCH(QString, id);
        const QString program = resource(":/lessons/" + id + ".py");
        QVERIFY2(!program.isEmpty(), qPrintable("no program :/lessons/" + id + ".py"));
        QVERIFY(program.contains("if __name__ == \"__main__\":"));

        const QString python = QStandardPaths::findExecutable("python3");
        if (python.isEmpty())
            QSKIP("python3 is not installed: syntax not checked");
        QProcess p;
        p.start(python, {"-c", "import ast, sys; ast.parse(sys.stdin.read())"});
        QVERIFY(p.waitForStarted());
        p.write(program.toUtf8());
        p.closeWriteChannel();
        QVERIFY(p.waitForFinished(30000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    }

    void catalogIdsAreUniqueAndNamed()
    {
        const auto catalog = ScenarioCatalog::article();
        QSet<QString> ids;
        for (const auto& s : catalog.all()) {
            const QString id = QString::fromStdString(s->id());
            QVERIFY(!ids.contains(id));
            ids.insert(id);
            QVERIFY(!s->title().empty());
            QVERIFY(catalog.find(s->id()) == s.get());
        }
        QVERIFY(catalog.find("no-such-scenario") == nullptr);
    }
};

QTEST_GUILESS_MAIN(TestLessons)
#include "tst_lessons.moc"

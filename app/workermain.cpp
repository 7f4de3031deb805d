#include "entrypoints.h"

int main(int argc, char** argv)
{
    return poolscope::workerProgramMain(argc, argv);
}

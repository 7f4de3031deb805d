#include "parameterspec.h"

namespace poolscope {

std::string ParameterSpec::optionName(Name name)
{
    switch (name) {
    case Name::Workers:
        return "workers";
    case Name::Chunksize:
        return "chunksize";
    case Name::StartMethod:
        return "start-method";
    case Name::Seed:
        return "seed";
    case Name::TimeScale:
        return "time-scale";
    }
    return "?";
}

} // namespace poolscope

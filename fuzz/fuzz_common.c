/* fuzz_common.c — helpers shared by the fuzz targets (see fuzz.h). */
#include "fuzz.h"

#include <sys/stat.h>

const char *fuzz_skip_reason;
volatile uint64_t fuzz_sink;

const char *fuzz_shared_dir(void)
{
    const char *dir = getenv("MOTE_SHARED");
    if (!dir || !*dir) dir = "../shared";
    struct stat sb;
    return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) ? dir : NULL;
}

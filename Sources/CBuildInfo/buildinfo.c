#include "buildinfo.h"

#if __has_include("commit.h")
#include "commit.h"
#endif
#ifndef MAILPLAN_GIT_COMMIT
#define MAILPLAN_GIT_COMMIT ""
#endif

const char *mailplan_git_commit(void) { return MAILPLAN_GIT_COMMIT; }

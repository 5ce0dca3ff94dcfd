#ifndef MAILPLAN_BUILDINFO_H
#define MAILPLAN_BUILDINFO_H

/// The git commit mailplan was built from (`git describe --always --dirty` form), or "" when
/// the build did not record one. `make release` writes it to Sources/CBuildInfo/commit.h
/// for the length of the build (see Makefile).
const char *mailplan_git_commit(void);

#endif

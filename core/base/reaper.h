/*
 * reaper.h - ending the processes a check or a notifier command leaves
 * behind. A process that hosts commands becomes a child subreaper, so
 * whatever its commands leave running (a daemonised or setsid() child
 * included) is re-parented to it rather than to init; after each job it
 * ends every child it does not know. See docs/internals/workers.md.
 */
#ifndef TOCSIN_REAPER_H
#define TOCSIN_REAPER_H

#include <stdint.h>
#include <sys/types.h>

/* Whether child `pid` is one the caller keeps (a worker): 1 keeps it. */
typedef int (*tocsin_reaper_keep_fn)(pid_t pid, void *ud);

/* Make this process the subreaper of its descendants
 * (PR_SET_CHILD_SUBREAPER). Returns 0, or -1 with errno. */
int tocsin_reaper_become(void);

/*
 * End every child of this process that `keep` (NULL: none) does not keep,
 * with the process group it leads: SIGTERM, then SIGKILL to what is left
 * after `grace_us` (0: SIGKILL at once); each is reaped by its pid, so the
 * caller's own waitpid(-1) still sees the children it keeps. Descendants
 * re-parented here while it runs are ended in further rounds. Returns the
 * number of processes ended. Costs one waitid(2) when this process has no
 * child at all; otherwise a read of /proc/self/task/N/children per round.
 */
int tocsin_reaper_end_children(tocsin_reaper_keep_fn keep, void *ud, int64_t grace_us);

#endif

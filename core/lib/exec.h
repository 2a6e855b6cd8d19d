/*
 * exec.h - what the core needs of the command runner beyond the public
 * tocsin_exec(): a place to publish the process group of the command that
 * is running, so that the core can end it when the worker that started it
 * is killed or the daemon stops.
 */
#ifndef TOCSIN_EXEC_H
#define TOCSIN_EXEC_H

#include <stdint.h>

/* From now on, tocsin_exec() in this process stores the process group of
 * its running command in *slot (0 when none runs). NULL stops it. */
void tocsin_exec_publish_pgid(volatile int32_t *slot);

#endif

/* agent.h: the whole agent: lifecycle -> containers -> tail -> CRI -> enrich ->
 * sinks, wired on one event loop. */
#ifndef GLIMPSE_AGENT_H
#define GLIMPSE_AGENT_H

struct config;

/* Runs until SIGINT or SIGTERM. Returns the process exit status: 0 after a
 * clean stop, 1 when start-up failed (the reason is logged). */
int agent_run(const struct config *cfg);

#endif
